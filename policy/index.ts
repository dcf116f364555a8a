import { PolicyPack } from "@pulumi/policy";
import { POLICIES } from "./pack";

/**
 * The CrossGuard pack (started by the Pulumi CLI): one stack policy per AWS
 * Security Hub control (controls.ts), waivers in waivers.ts. Mandatory by
 * default; an unprotected stack's preview and up pass config.advisory.json (.ci/policy-args.sh), which makes every policy
 * advisory there.
 *
 *   pulumi preview --policy-pack policy [--policy-pack-config policy/config.advisory.json]
 */
new PolicyPack("platform-security-hub", { policies: POLICIES });
