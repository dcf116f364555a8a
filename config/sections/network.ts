import { z } from "zod";
import { addressesPerAz, azBlockPrefix, isNetworkAddress, isPrivate, MAX_AZS, parseCidr } from "../../facts/cidr";
import { invalid, quoted } from "../shapes";

/** The `platform:network` section. */

const subnetMask = z.number().int().min(16).max(28);

export const networkSchema = z
    .strictObject({
        cidr: z.string().default("10.0.0.0/16").describe("The VPC's IPv4 CIDR: an RFC 1918 network address, /16 to /24."),
        availabilityZones: z.union([z.literal(2), z.literal(3)], {
            error: quoted((input) => `${input} must be 2 or 3`),
        }).default(2).describe("How many AZs the VPC spans: 2 (dev) or 3 (prod); ELB and RDS need at least two, three survive an AZ loss with headroom."),
        natGateways: z.enum(["Single", "OnePerAz"], {
            error: invalid("a NAT mode (Single, OnePerAz)"),
        }).default("Single").describe("Single: one NAT gateway (cheap; its AZ is a single point of egress). OnePerAz: one per AZ, for HA egress."),
        subnetMasks: z
            .strictObject({
                public: subnetMask.max(27).default(24).describe("Netmask of the public tier's subnet in each AZ; at most /27, as an ALB needs at least a /27 with 8 free addresses in each subnet."),
                private: subnetMask.default(20).describe("Netmask of the private tier's subnet in each AZ."),
                isolated: subnetMask.default(24).describe("Netmask of the isolated tier's subnet in each AZ."),
            })
            .prefault({})
            .describe("Netmask of each tier's subnet in every AZ; the three tiers must fit one AZ's block of the VPC, which is sized for 3 AZs whatever the count."),
        interfaceEndpoints: z.boolean().default(false).describe("Interface endpoints for ecr.api, ecr.dkr, logs and secretsmanager (keeps that traffic off the NAT)."),
        flowLogs: z.boolean().default(false).describe("VPC flow logs to CloudWatch Logs, kept for logs.retentionDays."),
    })
    .superRefine((n, ctx) => {
        const c = parseCidr(n.cidr);
        if (!c) {
            ctx.addIssue({ code: "custom", path: ["cidr"], message: `${JSON.stringify(n.cidr)} is not an IPv4 CIDR (a.b.c.d/prefix)` });
            return;
        }
        if (c.prefix < 16 || c.prefix > 24) {
            ctx.addIssue({ code: "custom", path: ["cidr"], message: `${n.cidr}: prefix /${c.prefix} is outside /16–/24` });
            return;
        }
        if (!isNetworkAddress(c)) {
            ctx.addIssue({ code: "custom", path: ["cidr"], message: `${n.cidr} has host bits set; use the network address` });
        }
        if (!isPrivate(c)) {
            ctx.addIssue({ code: "custom", path: ["cidr"], message: `${n.cidr} is not inside an RFC 1918 private range` });
        }
        // Blocks are sized for MAX_AZS whatever the count today, so a later third AZ moves nothing.
        const azPrefix = azBlockPrefix(c.prefix);
        const masks = n.subnetMasks;
        for (const tier of ["public", "private", "isolated"] as const) {
            if (masks[tier] < azPrefix) {
                ctx.addIssue({
                    code: "custom",
                    path: ["subnetMasks", tier],
                    message: `/${masks[tier]} is larger than the /${azPrefix} each AZ gets from ${n.cidr} (blocks are sized for ${MAX_AZS} AZs)`,
                });
                return;
            }
        }
        const need = addressesPerAz([masks.public, masks.private, masks.isolated]);
        const have = 2 ** (32 - azPrefix);
        if (need > have) {
            ctx.addIssue({
                code: "custom",
                path: ["subnetMasks"],
                message: `subnets need ${need} addresses per AZ but ${n.cidr} gives each AZ /${azPrefix} = ${have} (blocks are sized for ${MAX_AZS} AZs)`,
            });
        }
    })
    .describe("The VPC, its subnets per tier and AZ, and its egress.");

export type NetworkConfig = z.output<typeof networkSchema>;
