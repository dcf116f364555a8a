import { arn, Grant } from "./model";

/** Alarms, dashboards and logs. */
export const OBSERVABILITY_GRANTS: readonly Grant[] = [
    {
        sid: "Alarms",
        covers: ["aws:cloudwatch/metricAlarm:MetricAlarm"],
        read: ["cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"],
        write: ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource", "cloudwatch:UntagResource"],
        // PutMetricAlarm both creates (tags in the request) and updates (tags on the alarm).
        scope: (s) => ({ kind: "tagged", resources: [arn(s, "cloudwatch", "alarm:*")], create: [{ action: "cloudwatch:PutMetricAlarm", on: [arn(s, "cloudwatch", "alarm:*")], orUpdate: true }], tagOnCreate: { action: "cloudwatch:TagResource" } }),
    },
    {
        sid: "Dashboards",
        covers: ["aws:cloudwatch/dashboard:Dashboard"],
        read: ["cloudwatch:GetDashboard"],
        write: ["cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"],
        // Dashboards are global: their ARN has no region. They take no tags.
        scope: (s) => ({ kind: "named", resources: [arn(s, "cloudwatch", `dashboard/${s.naming.prefix}-*`, "")] }),
    },
    {
        sid: "TargetTrackingAlarms",
        covers: ["tool:target-tracking-alarms"],
        read: ["cloudwatch:DescribeAlarms"],
        // Application Auto Scaling makes its target-tracking alarms, untagged, in the caller's name.
        write: ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"],
        scope: (s) => ({ kind: "named", resources: [arn(s, "cloudwatch", `alarm:TargetTracking-service/${s.naming.prefix}-*`)] }),
    },
    {
        sid: "Logs",
        covers: ["aws:cloudwatch/logGroup:LogGroup", "aws:cloudwatch/logMetricFilter:LogMetricFilter"],
        read: ["logs:DescribeLogGroups", "logs:ListTagsForResource", "logs:DescribeMetricFilters"],
        write: ["logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy", "logs:TagResource", "logs:UntagResource", "logs:PutMetricFilter", "logs:DeleteMetricFilter"],
        scope: (s) => ({
            kind: "named",
            resources: [s.naming.logGroupPrefix, `/aws/rds/instance/${s.naming.prefix}-`, `aws-waf-logs-${s.naming.prefix}-`].flatMap((g) => [arn(s, "logs", `log-group:${g}*`), arn(s, "logs", `log-group:${g}*:*`)]),
        }),
    },
];
