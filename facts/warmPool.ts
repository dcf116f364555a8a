/**
 * The runner's warm pool as gitlab-runner's autoscaler policy periods: unix
 * cron strings (minute hour day-of-month month day-of-week) read as ranges of
 * time, each minute a cron expression matches being a minute the policy is
 * active (gitlab-runner docs, advanced configuration, "Periods syntax").
 * Pure: the config checks the window, components/runner renders it,
 * tools/planning prices it from the rendered periods.
 */

/** Day-of-week names as cron writes them, Sunday first (cron's 0). */
export const CRON_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;

/** Monday-first order, so that `mon-fri` and `sat-sun` read as people write them. */
const WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

/** The days a spec names (`mon-fri`, `mon,wed,fri`, `sat-sun`, `mon-thu,sat`), Monday first; undefined if it is not one. */
export function weekdays(spec: string): string[] | undefined {
    const days = new Set<number>();
    for (const part of spec.toLowerCase().split(",")) {
        const [from, to = from, ...rest] = part.split("-");
        const a = WEEK.indexOf(from as (typeof WEEK)[number]);
        const b = WEEK.indexOf(to as (typeof WEEK)[number]);
        if (a < 0 || b < a || rest.length > 0) {
            return undefined;
        }
        for (let d = a; d <= b; d++) {
            days.add(d);
        }
    }
    return [...days].sort((x, y) => x - y).map((d) => WEEK[d]);
}

/** Minutes since midnight of `HH:MM`; undefined if it is not a time of day. */
export function minuteOfDay(hhmm: string): number | undefined {
    const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
    return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
}

/** A daily window on some days of the week, local time: from `start` up to (not including) `end`, the same day. */
export interface WarmWindow {
    readonly days: string;
    readonly start: string;
    readonly end: string;
}

const range = (a: number, b: number) => (a === b ? `${a}` : `${a}-${b}`);

/**
 * The cron periods that cover exactly the window's minutes: a partial first
 * hour, the whole hours, a partial last hour. 08:00-19:00 on mon-fri is the
 * single `* 8-18 * * mon,tue,wed,thu,fri`.
 */
export function warmPeriods(w: WarmWindow): string[] {
    const days = weekdays(w.days);
    const start = minuteOfDay(w.start);
    const end = minuteOfDay(w.end);
    if (!days || start === undefined || end === undefined || end <= start) {
        throw new Error(`warmPeriods: not a window: ${JSON.stringify(w)}`);
    }
    const dow = days.join(",");
    const [sh, sm, eh, em] = [Math.floor(start / 60), start % 60, Math.floor(end / 60), end % 60];
    if (sh === eh) {
        return [`${range(sm, em - 1)} ${sh} * * ${dow}`];
    }
    const firstWhole = sm > 0 ? sh + 1 : sh;
    return [
        ...(sm > 0 ? [`${range(sm, 59)} ${sh} * * ${dow}`] : []),
        ...(firstWhole <= eh - 1 ? [`* ${range(firstWhole, eh - 1)} * * ${dow}`] : []),
        ...(em > 0 ? [`${range(0, em - 1)} ${eh} * * ${dow}`] : []),
    ];
}

/** The values one cron field names: `*`, `n`, `a-b` or a list of day names (the forms warmPeriods writes). */
function field(text: string, all: readonly number[], names: readonly string[] = []): number[] {
    if (text === "*") {
        return [...all];
    }
    return text.split(",").flatMap((part) => {
        const named = names.indexOf(part);
        if (named >= 0) {
            return [named];
        }
        const m = /^(\d+)(?:-(\d+))?$/.exec(part);
        if (!m) {
            throw new Error(`cron field ${JSON.stringify(text)} is not of the forms this reads`);
        }
        const [a, b] = [Number(m[1]), Number(m[2] ?? m[1])];
        return all.filter((v) => v >= a && v <= b);
    });
}

const MINUTES = Array.from({ length: 60 }, (_, i) => i);
const HOURS = Array.from({ length: 24 }, (_, i) => i);
const DAYS = Array.from({ length: 7 }, (_, i) => i);

/** The minutes of a week (day 0 = Sunday, hour, minute) one period matches; every day of month and month only. */
export function periodMinutes(period: string): { day: number; hour: number; minute: number }[] {
    const [minute, hour, dom, month, dow, ...rest] = period.trim().split(/\s+/);
    if (dom !== "*" || month !== "*" || rest.length > 0 || dow === undefined) {
        throw new Error(`period ${JSON.stringify(period)}: only every day of month and month is read here`);
    }
    const ms = field(minute, MINUTES);
    const hs = field(hour, HOURS);
    return field(dow, DAYS, CRON_DAYS).flatMap((day) => hs.flatMap((h) => ms.map((m) => ({ day, hour: h, minute: m }))));
}

/** Hours a week that any of the periods is active. */
export function hoursPerWeek(periods: readonly string[]): number {
    const minutes = new Set(periods.flatMap((p) => periodMinutes(p).map((t) => `${t.day}:${t.hour}:${t.minute}`)));
    return minutes.size / 60;
}
