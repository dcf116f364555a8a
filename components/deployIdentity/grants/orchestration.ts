import { arn, Grant } from "./model";

/** Schedules, service discovery and notifications. */
export const ORCHESTRATION_GRANTS: readonly Grant[] = [
    {
        sid: "Schedules",
        covers: ["aws:scheduler/schedule:Schedule"],
        read: ["scheduler:GetSchedule"],
        write: ["scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"],
        scope: (s) => ({ kind: "named", resources: [arn(s, "scheduler", `schedule/default/${s.naming.prefix}-*`)] }),
    },
    {
        sid: "ServiceDiscovery",
        covers: ["aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace", "aws:servicediscovery/service:Service"],
        read: ["servicediscovery:GetNamespace", "servicediscovery:GetService", "servicediscovery:GetOperation", "servicediscovery:ListTagsForResource", "servicediscovery:ListInstances", "route53:ListHostedZonesByName", "ec2:DescribeVpcs", "ec2:DescribeRegions"],
        write: [
            "servicediscovery:CreatePrivateDnsNamespace", "servicediscovery:UpdatePrivateDnsNamespace", "servicediscovery:DeleteNamespace",
            "servicediscovery:CreateService", "servicediscovery:UpdateService", "servicediscovery:DeleteService", "servicediscovery:DeregisterInstance",
            "servicediscovery:TagResource", "servicediscovery:UntagResource",
            // The private namespace is a Route 53 private zone Cloud Map makes in the caller's name.
            "route53:CreateHostedZone",
        ],
        scope: (s) => ({
            kind: "tagged",
            resources: [arn(s, "servicediscovery", "namespace/*"), arn(s, "servicediscovery", "service/*")],
            create: [
                { action: "servicediscovery:CreatePrivateDnsNamespace", on: ["*"] },
                // The namespace side is decided by its tag.
                { action: "servicediscovery:CreateService", on: [arn(s, "servicediscovery", "service/*")] },
            ],
        }),
    },
    {
        sid: "Sns",
        covers: ["aws:sns/topic:Topic", "aws:sns/topicSubscription:TopicSubscription"],
        read: ["sns:GetTopicAttributes", "sns:ListTagsForResource", "sns:GetSubscriptionAttributes"],
        write: ["sns:CreateTopic", "sns:SetTopicAttributes", "sns:DeleteTopic", "sns:TagResource", "sns:UntagResource", "sns:Subscribe", "sns:Unsubscribe", "sns:SetSubscriptionAttributes"],
        scope: (s) => ({ kind: "named", resources: [arn(s, "sns", `${s.naming.prefix}-*`)] }),
    },
];
