/**
 * Runs a hook as a program, as `pulumi up` sees it: stdout is its answer,
 * a failure one line on stderr (Pulumi shows stderr whole; a multi-line
 * AWS error would scatter) and exit code 1.
 */
export function runHook(name: string, main: () => Promise<void>): void {
    main().catch((e: unknown) => {
        const message = e instanceof Error ? e.message : String(e);
        process.stderr.write(`${name}: ${message.replace(/\s*\n\s*/g, " ")}\n`);
        process.exitCode = 1;
    });
}

/** A hook's input from its command's environment: a variable that must be set and not blank. */
export function requiredEnv(env: NodeJS.ProcessEnv): (name: string) => string {
    return (name) => {
        const value = env[name];
        if (value === undefined || value.trim() === "") {
            throw new Error(`environment variable ${name} is required`);
        }
        return value;
    };
}
