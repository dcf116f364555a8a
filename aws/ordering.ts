import * as pulumi from "@pulumi/pulumi";

/**
 * `value`, resolving only once `resource` exists: for handing out an ARN whose
 * users need something created beside it first (a policy, a secret's value).
 * Dependents then also outlive that resource on destroy.
 */
export function after<T>(value: pulumi.Output<T>, resource: pulumi.CustomResource): pulumi.Output<T> {
    return resource.id.apply(() => value);
}
