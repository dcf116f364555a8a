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
