import * as pulumi from "@pulumi/pulumi";
import { decodeConfigValues, parseConfig, PlatformConfig } from ".";

/** Reads and validates the current stack's config; throws ConfigError before anything is registered. */
export function loadConfig(): PlatformConfig {
    return parseConfig(decodeConfigValues(pulumi.runtime.allConfig()), pulumi.getStack());
}
