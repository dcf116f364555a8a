import { loadBootstrapConfig } from "./config";
import { stateBackend } from "./stateBackend";

// The platform project's state backend (README.md in this folder). Its outputs
// are what the stack files and the operator's next commands need.
const backend = stateBackend(loadBootstrapConfig());

export const stateBucketName = backend.stateBucketName;
export const region = backend.region;
export const backendUrl = backend.backendUrl;
export const loginCommand = backend.loginCommand;
export const secretsKeyAliases = backend.secretsKeyAliases;
export const stackInitCommands = backend.stackInitCommands;
