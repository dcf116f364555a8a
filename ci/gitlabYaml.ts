import { parse } from "yaml";

/**
 * .gitlab-ci.yml as data. GitLab's `!reference [job, key]` tag is kept as
 * the path it names (a plain list): the readers here look at jobs' own keys,
 * and an unknown tag would only make the parser warn.
 */
export function parseGitlabCi(text: string): Record<string, unknown> {
    return parse(text, { customTags: [{ tag: "!reference", collection: "seq", resolve: (v: unknown) => v }] }) as Record<string, unknown>;
}
