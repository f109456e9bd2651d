import { JsonlSource, ParquetSource } from '../../../data/datasets/index.ts';
import { writeJsonl, writeParquet } from './files.ts';
import { rowSourceConformance } from './row-source-conformance.ts';

rowSourceConformance('JSONL', (dir, file, rows) => writeJsonl(dir, `${file}.jsonl`, rows), (path) => JsonlSource.open(path));
rowSourceConformance('Parquet (2 rows per row group)', (dir, file, rows) => writeParquet(dir, `${file}.parquet`, rows, 2), (path) => ParquetSource.open(path));
