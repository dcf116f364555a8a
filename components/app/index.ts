/**
 * The Django product's service: the component (djangoService.ts; its task in
 * taskDefinition.ts, its share of the ALB in traffic.ts, its Args in types.ts)
 * and gunicorn's facts the config schema checks.
 */
export { DjangoService } from "./djangoService";
export { DjangoServiceArgs } from "./types";
