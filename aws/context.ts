import * as pulumi from "@pulumi/pulumi";
import { Naming } from "../facts/naming";

/**
 * What every component of one stack shares, built once by index.ts from the
 * config: components take it whole instead of five loose arguments each.
 */
export interface StackContext {
    readonly region: string;
    readonly accountId: pulumi.Input<string>;
    /** Physical names and the IAM path (facts/naming.ts). */
    readonly naming: Naming;
    /** Protect stateful resources and the generators of their secrets, keep buckets and images on destroy (prod). */
    readonly protect: boolean;
    /** Retention of every log group the stack creates. */
    readonly logRetentionDays: number;
}
