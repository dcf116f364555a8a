import { expect } from "chai";
import { Cluster } from "../components/cluster";
import { runComponent } from "../sim/harness";
import { clusterArgs } from "./components/fixtures";

describe("sim: the offline engine", () => {
    it("runs started together are recorded one after the other, each with only its own resources", async () => {
        const [spot, onDemand] = await Promise.all([
            runComponent(() => new Cluster("spot", clusterArgs({ spot: true })), { stack: "one" }),
            runComponent(() => new Cluster("plain", clusterArgs({ spot: false })), { stack: "two" }),
        ]);
        expect([spot.error, onDemand.error]).to.deep.equal([undefined, undefined]);
        expect(spot.resources.map((r) => r.name).sort()).to.deep.equal(["spot", "spot", "spot-capacity"]);
        expect(onDemand.resources.map((r) => r.name).sort()).to.deep.equal(["plain", "plain", "plain-capacity"]);
        expect(spot.resources.every((r) => r.urn.startsWith("urn:pulumi:one::"))).to.equal(true);
        expect(onDemand.resources.every((r) => r.urn.startsWith("urn:pulumi:two::"))).to.equal(true);
    });
});
