/** The Django product's service: the component (djangoService.ts) and gunicorn's facts the config schema checks. */
export { DjangoService, DjangoServiceArgs } from "./djangoService";
