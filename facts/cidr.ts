/**
 * IPv4 CIDR arithmetic: config validation and the subnet layout the Network
 * component hands awsx as explicit CIDRs.
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
 * The most AZs a stack may span (config allows 2 or 3). Every AZ's block is
 * sized for this many, whatever the stack uses today, so adding an AZ later
 * only adds subnets: it never shrinks the blocks that existing subnets sit in.
 */
export const MAX_AZS = 3;

/** The prefix of each AZ's block: the VPC prefix plus enough bits to number MAX_AZS slots. */
export function azBlockPrefix(vpcPrefix: number, azCount: number = MAX_AZS): number {
    return vpcPrefix + Math.ceil(Math.log2(azCount));
}

/**
 * Addresses the subnets of one AZ need. Placed largest first (as
 * `layoutSubnets` orders them) power-of-two blocks pack with no alignment
 * gaps, so this sum fitting in the AZ block is exactly the condition for a layout.
 */
export function addressesPerAz(subnetPrefixes: readonly number[]): number {
    return subnetPrefixes.reduce((sum, p) => sum + 2 ** (32 - p), 0);
}

export function formatCidr(c: Cidr): string {
    const a = c.address;
    return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/${c.prefix}`;
}

/**
 * Explicit subnet CIDRs per tier, one per AZ. AZ n always gets slot n of the
 * VPC split into MAX_AZS-sized slots, and inside its slot the tiers are packed
 * largest first (ties in the order given). The layout of AZs 1..n is therefore
 * the same for every count ≥ n: growing from 2 to 3 AZs adds the third AZ's
 * subnets and moves none. Throws when the tiers do not fit (the config schema
 * reports that first, with the key).
 */
export function layoutSubnets<T extends string>(vpcCidr: string, tiers: readonly { readonly name: T; readonly prefix: number }[], azCount: number): Record<T, string[]> {
    const vpc = parseCidr(vpcCidr);
    if (!vpc || !isNetworkAddress(vpc)) {
        throw new Error(`${vpcCidr} is not a network CIDR`);
    }
    if (azCount < 1 || azCount > MAX_AZS) {
        throw new Error(`${azCount} AZs: between 1 and ${MAX_AZS}`);
    }
    const slotPrefix = azBlockPrefix(vpc.prefix);
    const slotSize = 2 ** (32 - slotPrefix);
    const ordered = [...tiers].sort((x, y) => x.prefix - y.prefix);
    if (ordered.some((t) => t.prefix < slotPrefix) || addressesPerAz(ordered.map((t) => t.prefix)) > slotSize) {
        throw new Error(`subnets /${ordered.map((t) => t.prefix).join(", /")} do not fit the /${slotPrefix} each AZ gets from ${vpcCidr}`);
    }
    const out = Object.fromEntries(tiers.map((t) => [t.name, [] as string[]])) as Record<T, string[]>;
    for (let az = 0; az < azCount; az++) {
        let offset = vpc.address + az * slotSize;
        for (const t of ordered) {
            out[t.name].push(formatCidr({ address: offset, prefix: t.prefix }));
            offset += 2 ** (32 - t.prefix);
        }
    }
    return out;
}
