/**
 * A compatibility report for people and for CI: the text a log shows, and
 * the rule that turns a report into an exit status.
 */
import type {
  CompatibilityDirection,
  CompatibilityReport,
  CompatibilityVerdict,
  MessageCompatibility,
  RouteFinding,
  SchemaFinding,
} from './compatibility.js';

/** Options of {@link compatibilityExitCode}. */
export interface CompatibilityExitOptions {
  /**
   * Pass a report whose worst verdict is `'unknown'`: changes the check
   * cannot prove safe, such as a changed refinement. Breaking changes fail
   * regardless.
   * @default false
   */
  allowUnknown?: boolean;
}

/**
 * The exit status a CI step should end with: 0 when the report passes, 1
 * when it has a breaking change, or an unknown one that `allowUnknown` does
 * not allow.
 */
export function compatibilityExitCode(
  report: CompatibilityReport,
  options: CompatibilityExitOptions = {},
): 0 | 1 {
  if (report.verdict === 'breaking') return 1;
  if (report.verdict === 'unknown' && options.allowUnknown !== true) return 1;
  return 0;
}

const LABEL: Record<CompatibilityVerdict, string> = {
  compatible: 'ok',
  unknown: 'UNKNOWN',
  breaking: 'BREAKING',
};

const READERS: Record<CompatibilityDirection, string> = {
  'old-receivers': 'old receivers',
  'new-receivers': 'new receivers',
};

/**
 * The report as text for a CI log: one line per message with its verdict,
 * each finding below it (where in the body, what changed, which receivers
 * it breaks), then the routes, then a summary line.
 */
export function formatCompatibilityReport(report: CompatibilityReport): string {
  const lines = [`Contract compatibility: ${LABEL[report.verdict]}`, ''];
  lines.push('Messages:');
  if (report.messages.length === 0) lines.push('  (none)');
  for (const message of report.messages) lines.push(...messageLines(message));
  lines.push('', 'Routes:');
  if (report.routes.length === 0) lines.push('  no route removed or moved');
  for (const route of report.routes) lines.push(routeLine(route));
  lines.push('', summary(report));
  return `${lines.join('\n')}\n`;
}

function messageLines(message: MessageCompatibility): string[] {
  const head = `  ${LABEL[message.verdict].padEnd(8)} ${message.name} (${message.status})`;
  return [head, ...message.findings.map(findingLine)];
}

function findingLine(finding: SchemaFinding): string {
  const tag = finding.verdict === 'breaking' ? 'breaks' : 'may break';
  return `             ${finding.path}: ${finding.detail} [${finding.change}; ${tag} ${READERS[finding.direction]}]`;
}

function routeLine(route: RouteFinding): string {
  const readers = route.direction === undefined ? '' : `; breaks ${READERS[route.direction]}`;
  return `  ${LABEL[route.verdict].padEnd(8)} ${route.route} '${route.name}': ${route.detail} [${route.change}${readers}]`;
}

function summary(report: CompatibilityReport): string {
  const count = (verdict: CompatibilityVerdict): number =>
    report.messages.filter((message) => message.verdict === verdict).length;
  const parts = [
    `${count('breaking')} breaking`,
    `${count('unknown')} unknown`,
    `${count('compatible')} compatible`,
  ];
  const routes = report.routes.length;
  return `Messages: ${parts.join(', ')}. Routes: ${routes === 0 ? 'none' : routes} removed or moved.`;
}
