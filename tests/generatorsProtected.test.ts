import { expect } from "chai";
import { generators, T } from "./gitlabHelpers";
import { named, Resource, stackRun, variantRun } from "../sim/harness";
import { prodRotationStep1 } from "./variants";

/*
 * A secret's generator is as stateful as the secret: deleting it (a slip in
 * a refactoring, a `pulumi destroy` of one resource) makes a new value that
 * the next update writes into the secret. In a protected stack every
 * generator is protected like the secrets; the flag is the only difference
 * it makes (a resource option: nothing is replaced by it).
 */

/**
 * The generators outside GitLab's own secrets (tested with them): GitLab's
 * database password and the app's key; the app database's password exists
 * while RDS does not rotate it (step 1 of 2 of turning rotation on).
 */
const OUTSIDE_GITLAB = ["gitlab-db-password", "app-secret-key"];

const unprotectedProd = () => variantRun("prod-unprotected", "prod", (c) => (c["platform:stateful"] = { ...c["platform:stateful"], protect: false }));

describe("Secret generators are protected with their secrets", () => {
    it("prod: every generator in the stack is protected, the databases' passwords and the app's key included, like their secrets", async () => {
        // At step 1 of turning rotation on: the one state with the app database's generated password too.
        const run = await prodRotationStep1();
        const names = generators(run).map((g) => g.name);
        expect(names).to.include.members([...OUTSIDE_GITLAB, "app-db-password"]);
        for (const g of generators(run)) {
            expect(g.protect, `${g.type} ${g.name}`).to.equal(true);
        }
        // ... as the secrets they fill are (the runner's token, filled by a tool, is not a generator's).
        for (const name of ["app-db-credentials", "gitlab-db-credentials", "app-secret-key"]) {
            expect(named(run, T.secret, name).protect, name).to.equal(true);
        }
    });

    it("dev: nothing is protected (a disposable stack)", async () => {
        const run = await stackRun("dev");
        expect(generators(run).map((g) => g.name)).to.include.members(OUTSIDE_GITLAB);
        for (const g of generators(run)) {
            expect(g.protect, g.name).to.equal(false);
        }
    });

    it("protecting a generator changes only the flag: same URN, same inputs (the generator and so its value are kept)", async () => {
        const protectedRun = await stackRun("prod");
        const plain = await unprotectedProd();
        expect(plain.error).to.equal(undefined);
        const before = new Map(generators(plain).map((g) => [g.urn, g] as const));
        for (const g of generators(protectedRun)) {
            const was: Resource | undefined = before.get(g.urn);
            expect(was, g.name).to.not.equal(undefined);
            expect(g.inputs, g.name).to.deep.equal(was!.inputs);
            expect([was!.protect, g.protect], g.name).to.deep.equal([false, true]);
        }
        expect(generators(protectedRun)).to.have.length(before.size);
        // The secret each of the two outside generators feeds keeps its name (a secret is replaced by a new name only).
        expect(named(protectedRun, T.secret, "app-secret-key").inputs.name).to.equal(named(plain, T.secret, "app-secret-key").inputs.name);
    });
});
