/**
 * Physical names for resources AWS names per account and region. Each starts
 * with project and stack, so `dev` and `prod` can share an account and region
 * without clashing (ECS task families and IAM role names are account-wide) and
 * a person reading the console can tell them apart. IAM roles live under one
 * path so the deployer's `iam:PassRole` and role-management rights can be
 * scoped to `arn:aws:iam::<account>:role/<project>/*`.
 */
export interface Naming {
    /** The Pulumi project. */
    readonly project: string;
    /** The stack name (also the value of every resource's `stack` tag). */
    readonly stack: string;
    /** `<project>-<stack>`: the first part of every physical name. */
    readonly prefix: string;
    /** `/<project>/`: the path of every IAM role. */
    readonly iamPath: string;
    /** `/<project>/<stack>/`: the first part of every log group name we choose. */
    readonly logGroupPrefix: string;
}

export function naming(project: string, stack: string): Naming {
    return { project, stack, prefix: `${project}-${stack}`, iamPath: `/${project}/`, logGroupPrefix: `/${project}/${stack}/` };
}

/** `<project>-<stack>-<name>`; throws when AWS's length limit for that kind of name would cut it. */
export function physicalName(n: Naming, name: string, maxLength = 255): string {
    const full = `${n.prefix}-${name}`;
    if (full.length > maxLength) {
        throw new Error(`name ${full} is longer than the ${maxLength} characters AWS allows here`);
    }
    return full;
}

/** The CI roles' IAM path (`/<project>-ci/`): beside the program's own, never under it, so the deploy role cannot change itself. */
export function ciIamPath(n: Naming): string {
    return `${n.iamPath.replace(/\/$/, "")}-ci/`;
}
