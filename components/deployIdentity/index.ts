/** The identity GitLab CI previews and deploys a stack with: the component (deployIdentity.ts) and its grant catalogue (grants/). */
export { DeployIdentity, DeployIdentityArgs } from "./deployIdentity";
export { ADMIN_CREATES, bucketStatements, deployStatements, GRANTS, previewStatements, PolicyScope } from "./grants";
