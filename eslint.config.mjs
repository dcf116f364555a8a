// @ts-check
import { readdirSync } from "node:fs";
import tseslint from "typescript-eslint";
import importX, { createNodeResolver } from "eslint-plugin-import-x";

/**
 * The layering, enforced (docs/layout.md). Each folder is one kind of code:
 *   facts/       pure functions and tables: no Pulumi, no I/O, nothing of ours but facts/
 *                (a package's facts.ts is held to the same)
 *   aws/         resource building blocks: no GitLab or Django, no config
 *   components/  ComponentResources: typed Args in, never the config schema; a
 *                package (a folder) is entered by its index.ts or its facts.ts
 *   config/      the schema: parses, never builds resources (facts/ and facts.ts only)
 *   hooks/, ci/, sim/, tools/, policy/: programs around the stack
 * and nothing outside tests/ imports tests/. tests/layering.test.ts shows each rule biting.
 */
const noTests = { group: ["**/tests", "**/tests/**"], message: "only tests/ may import tests/ (shared offline code lives in sim/)" };
const noConfig = { group: ["**/config", "**/config/**"], message: "components and building blocks take typed Args; only index.ts and config/ read the schema" };
const noPulumi = { group: ["@pulumi/*"], message: "facts/ are pure: no Pulumi (a resource building block belongs in aws/)" };
const noComponents = { group: ["**/components", "**/components/**"], message: "aws/ building blocks know nothing of our components" };
const noOuterLayers = {
    group: ["**/aws", "**/aws/**", "**/components", "**/components/**", "**/config", "**/config/**", "**/sim", "**/sim/**", "**/hooks/**", "**/tools/**", "**/ci/**", "**/policy/**"],
    message: "facts/ import only facts/",
};
/** The stack's own code (aws/, components/, hooks/) never reaches the programs around it. */
const noOuterPrograms = {
    group: ["**/sim", "**/sim/**", "**/tools", "**/tools/**", "**/ci", "**/ci/**", "**/policy", "**/policy/**", "**/hooks/**"],
    message: "aws/, components/ and hooks/ are the stack: they never import sim/, tools/, ci/, policy/ or a hook",
};
/** A hook runs on its own, with the AWS SDK: it builds no resource and reads no schema. */
const hookOuter = { group: ["**/aws", "**/aws/**", "**/components", "**/components/**", "**/config", "**/config/**", "**/sim/**", "**/tools/**", "**/ci/**", "**/policy/**"], message: "hooks/ import only facts/ and each other" };
/** config/ parses: it may use facts/ and a package's own facts.ts, never what builds resources or runs around the stack. */
const configOuter = {
    regex: "\\.\\./(aws|sim|hooks|tools|ci|policy)(/|$)|\\.\\./components(/(?![^/]+/facts$)|$)",
    message: "config/ imports only facts/ and a component package's facts.ts",
};
/** Pure means no I/O either: reading the repository or running a program belongs to hooks/ and tools/. */
const noIo = {
    group: ["child_process", "node:child_process", "fs", "fs/*", "node:fs", "node:fs/*", "net", "node:net", "http", "https", "os", "node:os"],
    message: "facts/ are pure: no processes, files, network or host",
};
/** ... nor what differs between two runs of the same inputs. */
const impure = [
    { object: "process", property: "env", message: "facts/ are pure: take the value as an argument" },
    { object: "Date", property: "now", message: "facts/ are pure: take the time as an argument" },
    { object: "Math", property: "random", message: "facts/ are pure: no randomness" },
];
const stackReads = ["getStack", "getProject"].map((property) => ({ object: "pulumi", property, message: "components take what they need in their Args (naming, context)" }));
/** From outside a component package (a folder), only its entry point (index.ts) and its pure facts. */
const packageEntry = { group: ["**/components/*/*", "!**/components/*/facts"], message: "import a component package by its folder (index.ts), or its facts.ts" };

/** The same, seen from a one-file component beside the packages (`./gitlab/kit`). */
const siblingPackageEntry = { regex: "^\\./[^/]+/(?!facts$)", message: packageEntry.message };

const restrict = (...patterns) => ["error", { patterns }];

/**
 * Inside a package its own files are fair game, but another package is still
 * reached only by its entry point and facts.ts: one zone per package, for the
 * files of every other package.
 */
const PACKAGES = readdirSync(new URL("./components/", import.meta.url), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
const otherPackagesInternals = PACKAGES.map((p) => ({
    target: PACKAGES.filter((q) => q !== p).map((q) => `./components/${q}/**`),
    from: `./components/${p}`,
    except: ["./index.ts", "./facts.ts"],
    message: "import another component package by its folder (index.ts), or its facts.ts",
}));

export default tseslint.config(
    { ignores: ["node_modules/**", "bin/**", "app/**", ".scratch/**"] },
    ...tseslint.configs.recommended,
    {
        plugins: { "import-x": importX },
        rules: {
            // Tests read deeply into untyped mock inputs; production code must stay typed.
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-require-imports": "off",
            "@typescript-eslint/no-non-null-assertion": "off",
            eqeqeq: "error",
            "no-var": "error",
            "prefer-const": "error",
            "import-x/no-cycle": "error",
            "no-restricted-imports": restrict(noTests, packageEntry),
        },
        settings: {
            "import-x/extensions": [".ts", ".js"],
            "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
            "import-x/resolver-next": [createNodeResolver({ extensions: [".ts", ".js", ".json"] })],
        },
    },
    {
        files: ["components/**/*.ts", "aws/**/*.ts", "facts/**/*.ts", "config/**/*.ts", "hooks/**/*.ts", "ci/**/*.ts", "index.ts"],
        rules: {
            "@typescript-eslint/no-explicit-any": "error",
            // Components take typed Args; they must never read stack config themselves.
            "no-restricted-syntax": [
                "error",
                { selector: "NewExpression[callee.property.name='Config']", message: "read config only in config/load.ts via loadConfig()" },
                { selector: "NewExpression[callee.name='Config']", message: "read config only in config/load.ts via loadConfig()" },
                { selector: "MemberExpression[property.name=/^(allConfig|getConfig)$/]", message: "read config only in config/load.ts via loadConfig()" },
            ],
        },
    },
    { files: ["components/**/*.ts", "aws/**/*.ts", "facts/**/*.ts", "hooks/**/*.ts"], rules: { "no-restricted-properties": ["error", ...stackReads] } },
    { files: ["facts/**/*.ts", "components/*/facts.ts"], rules: { "no-restricted-properties": ["error", ...stackReads, ...impure] } },
    // The one place that reads the engine's config.
    { files: ["config/load.ts"], rules: { "no-restricted-syntax": "off" } },
    // Conditional config sections are discriminated unions: the wiring and the schema need no `!`.
    { files: ["index.ts", "config/**/*.ts"], rules: { "@typescript-eslint/no-non-null-assertion": "error" } },
    // Unit tests may read a package's internals (the rendered gitlab.rb, the secret table).
    { files: ["tests/**/*.ts"], rules: { "no-restricted-imports": "off" } },
    { files: ["components/**/*.ts"], rules: { "no-restricted-imports": restrict(noTests, noConfig, noOuterPrograms, packageEntry, siblingPackageEntry) } },
    // Inside a package, its own files are fair game.
    {
        files: ["components/*/**/*.ts"],
        rules: { "no-restricted-imports": restrict(noTests, noConfig, noOuterPrograms), "import-x/no-restricted-paths": ["error", { zones: otherPackagesInternals }] },
    },
    { files: ["aws/**/*.ts"], rules: { "no-restricted-imports": restrict(noTests, noConfig, noComponents, noOuterPrograms) } },
    { files: ["hooks/**/*.ts"], rules: { "no-restricted-imports": restrict(noTests, hookOuter) } },
    { files: ["facts/**/*.ts", "components/*/facts.ts"], rules: { "no-restricted-imports": restrict(noTests, noPulumi, noOuterLayers, noIo) } },
    { files: ["config/**/*.ts"], rules: { "no-restricted-imports": restrict(noTests, configOuter) } },
);
