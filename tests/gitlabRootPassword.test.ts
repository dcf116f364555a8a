import { expect } from "chai";
import { SECRET_ENV } from "../components/gitlab/secrets";
import { ofType, stackRun, STACKS } from "../sim/harness";

/**
 * The first sign-in to GitLab (docs/operations/first-deployment.md): the
 * stack output `gitlabRootPasswordSecretArn` names the secret whose `password`
 * the task that seeds the database hands GitLab as root's first password.
 */
describe("GitLab's initial root password, as a stack output", () => {
    for (const stack of STACKS) {
        it(`${stack}: names the secret the seeding task reads root's password from, key password`, async () => {
            const run = await stackRun(stack);
            const arn = run.outputs.gitlabRootPasswordSecretArn;
            const secrets = ofType(run, "aws:secretsmanager/secret:Secret").filter((s) => s.state.arn === arn);
            expect(secrets, "one Secrets Manager secret has that ARN").to.have.length(1);
            const readers = ofType(run, "aws:ecs/taskDefinition:TaskDefinition")
                .flatMap((t) => JSON.parse(t.inputs.containerDefinitions) as { secrets?: { name: string; valueFrom: string }[] }[])
                .flatMap((c) => c.secrets ?? [])
                .filter((s) => s.name === SECRET_ENV.rootPassword);
            expect(readers.length, "some task reads the root password").to.be.greaterThan(0);
            expect([...new Set(readers.map((r) => r.valueFrom))]).to.deep.equal([`${arn}:password::`]);
        });
    }
});
