/** Graviton instance families carry a "g" after the generation (m7g, c7gn, t4g). */
export function isGraviton(instanceType: string): boolean {
    return /^[a-z]+\d+g[a-z]*\./.test(instanceType);
}

/**
 * The ECS-optimized Amazon Linux 2023 AMI (Docker, the ECS and SSM agents,
 * EC2 Instance Connect), resolved by EC2 at each launch from AWS's public
 * parameter: no plan diff per AMI release; a replaced instance is patched.
 */
export function ecsOptimizedAmi(arch: "X86_64" | "ARM64"): string {
    return `resolve:ssm:/aws/service/ecs/optimized-ami/amazon-linux-2023/${arch === "ARM64" ? "arm64/" : ""}recommended/image_id`;
}

/** Launch-template metadata options: IMDSv2 only, one hop, so containers on the host cannot reach its credentials. */
export const IMDSV2_ONE_HOP = { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "disabled" };

/** Launch-template block devices: the AMI's root volume as encrypted gp3 of this size, gone with the instance. */
export function encryptedRoot(sizeGb: number) {
    return [{ deviceName: "/dev/xvda", ebs: { volumeType: "gp3", volumeSize: sizeGb, encrypted: "true", deleteOnTermination: "true" } }];
}
