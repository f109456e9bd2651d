import type { Command } from 'commander';
import { setRootLogger, rootLogger } from '../../runtime/index.ts';
import { writePipelineReport, writeRunReport, writeSweepReport, type ReportResult } from '../../observe/index.ts';
import { logLevel } from '../options.ts';
import { asInputError, pickStudy, resolveRunTarget } from '../run-target.ts';

/**
 * `recipe report <run|sweep> [--out report.html]`: one self-contained HTML file (no network needed to open it). A
 * run's curves; a recipe's stages all on one page; a sweep's intermediate curves, pruned trials, parallel
 * coordinates and best trial. Prints the file's path.
 */
export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('write an HTML report (curves, phase times; for sweeps: trials, pruning, parameters) that opens offline')
    .argument('<target>', 'a run or recipe directory (runs/<name>), or a sweep database (sqlite:///runs/sweeps.db or a .db path)')
    .option('--out <file>', 'where to write the report (default: report.html in the run directory, or beside the database)')
    .option('--study <name>', 'the study to report when the sweep database holds several')
    .option('--title <title>', 'page title')
    .option('--log-level <level>', 'fatal | error | warn | info | debug | trace | silent', logLevel)
    .action(async (argument: string, options: { out?: string; study?: string; title?: string; logLevel?: string }) => {
      if (options.logLevel) setRootLogger(rootLogger().child({}, { level: options.logLevel }));
      const reportOptions = { ...(options.out ? { out: options.out } : {}), ...(options.title ? { title: options.title } : {}) };
      let result: ReportResult;
      try {
        const target = resolveRunTarget(argument, 'report');
        if (target.kind === 'sweep') {
          const studyName = pickStudy(target, options.study);
          result = writeSweepReport(target.path, { ...reportOptions, ...(studyName ? { studyName } : {}) });
        } else if (target.kind === 'pipeline') {
          result = writePipelineReport(target.path, reportOptions);
        } else {
          result = writeRunReport(target.path, reportOptions);
        }
      } catch (error) {
        throw asInputError(error);
      }
      process.stdout.write(`${result.path}\n`);
    });
}
