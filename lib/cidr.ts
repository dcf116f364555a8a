/**
 * IPv4 CIDR arithmetic for config validation. awsx does the real subnet
 * layout; these functions only decide, before anything is registered, whether
 * the layout awsx will attempt can fit.
 */

export interface Cidr {
    readonly address: number; // as an unsigned 32-bit integer
    readonly prefix: number;
}

const CIDR_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** Parses `a.b.c.d/p`; returns undefined for anything else (octets > 255, prefix > 32, junk). */
export function parseCidr(text: string): Cidr | undefined {
    const m = CIDR_RE.exec(text);
    if (!m) {
        return undefined;
    }
    const octets = m.slice(1, 5).map(Number);
    const prefix = Number(m[5]);
    if (octets.some((o) => o > 255) || prefix > 32) {
        return undefined;
    }
    const address = ((octets[0] << 24) >>> 0) + (octets[1] << 16) + (octets[2] << 8) + octets[3];
    return { address, prefix };
}

/** True when no host bits are set (10.0.0.0/16, not 10.0.1.0/16). */
export function isNetworkAddress(c: Cidr): boolean {
    const size = 2 ** (32 - c.prefix);
    return c.address % size === 0;
}

const PRIVATE_RANGES: readonly Cidr[] = [
    { address: 10 * 2 ** 24, prefix: 8 },
    { address: (172 * 2 ** 24) + (16 * 2 ** 16), prefix: 12 },
    { address: (192 * 2 ** 24) + (168 * 2 ** 16), prefix: 16 },
];

/** True when `c` lies wholly inside one of the RFC 1918 ranges. */
export function isPrivate(c: Cidr): boolean {
    return PRIVATE_RANGES.some((r) => {
        if (c.prefix < r.prefix) {
            return false;
        }
        const size = 2 ** (32 - r.prefix);
        return Math.floor(c.address / size) === Math.floor(r.address / size);
    });
}

/**
 * The prefix of the per-AZ block awsx's "Auto" subnet strategy carves out of
 * the VPC: the VPC prefix plus enough bits to number the AZs.
 */
export function azBlockPrefix(vpcPrefix: number, azCount: number): number {
    return vpcPrefix + Math.ceil(Math.log2(azCount));
}

/**
 * Addresses the subnets of one AZ need. Placed largest first (as the Network
 * component orders them) power-of-two blocks pack with no alignment gaps, so
 * this sum fitting in the AZ block is exactly the condition for a layout.
 */
export function addressesPerAz(subnetPrefixes: readonly number[]): number {
    return subnetPrefixes.reduce((sum, p) => sum + 2 ** (32 - p), 0);
}
