/**
 * The commands the bootstrap prints for the operator to paste. Every URL is
 * single-quoted: its `?` is a glob in zsh (`no matches found`) and bash
 * passes it on only while no file happens to match.
 */

/** `s` as one single-quoted shell word. */
export function shellWord(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The DIY backend's URL: what `pulumi login` and CI's PULUMI_BACKEND_URL take. */
export function backendUrl(bucket: string, region: string): string {
    return `s3://${bucket}?region=${region}`;
}

export function loginCommand(bucket: string, region: string): string {
    return `pulumi login ${shellWord(backendUrl(bucket, region))}`;
}

/** A stack's secrets provider: its own KMS key, by alias. */
export function secretsProvider(alias: string, region: string): string {
    return `awskms://${alias}?region=${region}`;
}

export function stackInitCommand(stack: string, alias: string, region: string): string {
    return `pulumi stack init ${stack} --secrets-provider ${shellWord(secretsProvider(alias, region))}`;
}
