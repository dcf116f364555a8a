import { widgetTitle } from "../../components/dashboard/facts";
import { GraphResource } from "./graph";

/**
 * The stack's CloudWatch dashboards as the offline plan lists them: each
 * dashboard's name and its widgets' titles, in order, read from the body the
 * program rendered.
 */
export interface PlanDashboard {
    readonly name: string;
    readonly widgets: readonly string[];
}

export const DASHBOARD_TYPE = "aws:cloudwatch/dashboard:Dashboard";

export function planDashboards(resources: readonly GraphResource[]): PlanDashboard[] {
    return resources
        .filter((r) => r.type === DASHBOARD_TYPE)
        .map((r) => {
            const body = JSON.parse(String(r.inputs.dashboardBody)) as { widgets: { type: string; properties: Record<string, unknown> }[] };
            return { name: String(r.inputs.dashboardName ?? r.name), widgets: body.widgets.map(widgetTitle) };
        });
}
