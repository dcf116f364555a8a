import { expect } from "chai";
import { isPlaceholder, placeholdersIn } from "../facts/placeholders";
import { readStackConfig } from "../sim/harness";

describe("placeholders: the example values a real deployment replaces (facts/placeholders.ts)", () => {
    it("knows the documentation domains (RFC 2606) and names that say they are examples, and nothing else", () => {
        for (const v of ["example.com", "dev.example.com", "https://gitlab.example.com", "oncall@example.org", "git.example.net", "host.example", "example-platform-pulumi-state"]) {
            expect(isPlaceholder(v), v).to.equal(true);
        }
        for (const v of ["acme.com", "myexample.com", "example.company.io", "alias/platform-dev-pulumi", "platform/infrastructure", "counterexample-bucket"]) {
            expect(isPlaceholder(v), v).to.equal(false);
        }
    });

    it("lists each example value of the committed stack files by its key, nested and listed ones too", () => {
        const keys = (stack: string) => placeholdersIn(readStackConfig(stack)).map((p) => p.key);
        // The keys a newcomer must replace, as the files hold them today.
        expect(keys("dev")).to.include.members(["platform:dns.zoneName", "platform:app.hostName", "platform:gitlab.hostName", "platform:ci.gitlabUrl", "platform:ci.stateBucket.name"]);
        expect(keys("prod")).to.include.members(["platform:dns.zoneName", "platform:app.hostName", "platform:gitlab.hostName", "platform:alarms.email", "platform:ci.gitlabUrl", "platform:ci.stateBucket.name"]);
        expect(placeholdersIn({ a: { b: ["x", "y@example.com"] } })).to.deep.equal([{ key: "a.b[1]", value: "y@example.com" }]);
    });
});
