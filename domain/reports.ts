/**
 * What the edge and core agree on about reports (core/reports/reports.ts
 * counts them; edge/reports.ts takes the frame): the bounds of a report and
 * the hold ids of danmaku held because of reports.
 */

/** Longest report detail, in code points. */
export const maxReportDetail = 200;
/** Hold ids of danmaku held because of reports: `report-<danmaku id>`. */
export const reportHoldPrefix = 'report-';
