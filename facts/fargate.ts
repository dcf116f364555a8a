/**
 * Fargate task sizes, as AWS publishes them (CPU units → memory MiB). A task
 * definition with any other pair is rejected by ECS at deploy time, so we
 * reject it at config time instead.
 */
const GiB = 1024;

function range(fromGiB: number, toGiB: number, stepGiB: number): number[] {
    const out: number[] = [];
    for (let g = fromGiB; g <= toGiB; g += stepGiB) {
        out.push(g * GiB);
    }
    return out;
}

export const FARGATE_SIZES: Readonly<Record<number, readonly number[]>> = {
    256: [512, 1024, 2048],
    512: range(1, 4, 1),
    1024: range(2, 8, 1),
    2048: range(4, 16, 1),
    4096: range(8, 30, 1),
    8192: range(16, 60, 4),
    16384: range(32, 120, 8),
};

export const FARGATE_CPU_SIZES: readonly number[] = Object.keys(FARGATE_SIZES).map(Number);

/** Memory sizes (MiB) Fargate accepts for a CPU size; empty when the CPU size itself is invalid. */
export function fargateMemoryOptions(cpu: number): readonly number[] {
    return FARGATE_SIZES[cpu] ?? [];
}

export function isFargateSize(cpu: number, memory: number): boolean {
    return fargateMemoryOptions(cpu).includes(memory);
}

/** A short human description of the accepted memory sizes for `cpu`, for error messages. */
export function describeMemoryOptions(cpu: number): string {
    const opts = fargateMemoryOptions(cpu);
    if (opts.length <= 3) {
        return opts.join(", ");
    }
    const step = opts[1] - opts[0];
    return `${opts[0]}–${opts[opts.length - 1]} in steps of ${step}`;
}
