import { expect } from "chai";
import { ofType, StackRun, urnName } from "../sim/harness";
import { Statement } from "./iamEval";

/** Shared by the deploy identity tests (tests/deployIdentity*.test.ts): the IAM resource types and the statements of a CI role. */

export const T = {
    provider: "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
    role: "aws:iam/role:Role",
    policy: "aws:iam/policy:Policy",
    attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
};

export interface Doc extends Statement {
    Action: string[];
}

/** The statements of one CI role, from the managed policies attached to it in the graph. */
export function roleStatements(run: StackRun, role: "deploy" | "preview"): Doc[] {
    const attached = ofType(run, T.attachment).filter((a) => urnName(a.urn)!.startsWith(`ci-${role}-`));
    expect(attached.length, `ci-${role} attachments`).to.be.greaterThan(1);
    return attached.flatMap((a) => {
        const policy = ofType(run, T.policy).find((p) => p.state.arn === a.inputs.policyArn)!;
        return JSON.parse(policy.inputs.policy).Statement.map((s: Statement) => ({ ...s, Action: [s.Action].flat() }));
    });
}
