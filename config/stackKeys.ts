import { Region } from "@pulumi/aws/types/enums";

/** What a stack file may hold besides the `platform:` sections, and how a near miss is named. */

/**
 * The namespaces this program reads, or that Pulumi and its AWS provider read
 * (`pulumi:disable-default-providers`, `aws:region`, `aws:defaultTags`, ...).
 * A key in any other namespace is read by nobody: a misspelt section would be
 * left at its defaults (or off) with no word said.
 */
export const NAMESPACES = ["platform", "aws", "pulumi"] as const;

/** Every region the AWS provider knows, from the provider package itself. */
export const AWS_REGIONS: readonly string[] = Object.values(Region);

/**
 * Edit distance counting an insertion, deletion, substitution or swap of two
 * neighbours as one (optimal string alignment): `platfrom` is one from `platform`.
 */
export function editDistance(a: string, b: string): number {
    const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
                d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.length][b.length];
}

/**
 * The one candidate nearest to `word`, if near enough to be a typo (a third of
 * its length, at least 1); none when two are equally near (`eu-west-9`).
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
    const limit = Math.max(1, Math.floor(word.length / 3));
    const ranked = candidates.map((c) => ({ c, d: editDistance(word, c) })).filter((x) => x.d <= limit).sort((x, y) => x.d - y.d);
    return ranked.length > 0 && (ranked.length === 1 || ranked[1].d > ranked[0].d) ? ranked[0].c : undefined;
}

/** ` (did you mean X?)`, or nothing when no candidate is near. */
export function didYouMean(word: string, candidates: readonly string[], render: (c: string) => string = (c) => c): string {
    const near = closest(word, candidates);
    return near === undefined ? "" : ` (did you mean ${render(near)}?)`;
}

/** One line per key outside the known namespaces. */
export function namespaceProblems(keys: readonly string[]): string[] {
    const known: readonly string[] = NAMESPACES;
    return keys.flatMap((key) => {
        const colon = key.indexOf(":");
        const namespace = colon < 0 ? "" : key.slice(0, colon);
        if (known.includes(namespace)) {
            return [];
        }
        const hint = didYouMean(namespace, known, (n) => `${n}:${key.slice(colon + 1)}`);
        return [`${key}: unknown namespace "${namespace}", read by nobody${hint || ` (keys are ${known.map((n) => `${n}:`).join(", ")})`}`];
    });
}

/** The `aws:region` line, or nothing when the provider knows the region. */
export function regionProblem(region: unknown): string[] {
    if (typeof region === "string" && AWS_REGIONS.includes(region)) {
        return [];
    }
    if (region === undefined) {
        return ["aws:region: required (the AWS region every resource of the stack is in, e.g. us-east-1)"];
    }
    const hint = typeof region === "string" ? didYouMean(region, AWS_REGIONS) : "";
    return [`aws:region: ${JSON.stringify(region)} is not an AWS region the provider knows${hint || " (e.g. us-east-1)"}`];
}
