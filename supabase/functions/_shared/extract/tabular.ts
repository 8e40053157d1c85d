/**
 * CSV and TSV as text: the first row is the header, and every row becomes one line pairing each
 * value with its column (`name: Ada | city: London`), so a row still means something when a
 * section holds only some of the rows. Empty rows are skipped; rows with a different number of
 * fields keep what they have. A file without a header row, or whose quoting cannot be parsed,
 * fails with the line to look at.
 */
import Papa from "papaparse";
import { BlockBuilder } from "./blocks.ts";
import { fileFailure } from "./failure.ts";
import type { Block } from "./types.ts";

export interface TableText {
  blocks: Block[];
  rows: number;
  columns: string[];
}

/** The part of papaparse's API used here (the package ships no types). */
type ParseStrings = (
  text: string,
  config: { delimiter: string; delimitersToGuess: string[]; skipEmptyLines: "greedy" },
) => {
  data: string[][];
  errors: Array<{ type: string; code: string; message: string; row?: number }>;
};

export function tableToBlocks(text: string, delimiter: "," | "\t" | "auto"): TableText {
  const parsed = (Papa.parse as ParseStrings)(text.replace(/^\uFEFF/, ""), {
    delimiter: delimiter === "auto" ? "" : delimiter,
    delimitersToGuess: [",", ";", "\t", "|"],
    skipEmptyLines: "greedy",
  });
  const broken = parsed.errors.find((e) => e.type === "Quotes");
  if (broken) {
    throw fileFailure(
      "corrupt",
      `The table could not be read: ${broken.message} (row ${(broken.row ?? 0) + 1})`,
    );
  }
  const [header, ...rows] = parsed.data;
  const columns = (header ?? []).map((name, i) => name.trim() || `column ${i + 1}`);
  if (columns.length === 0) throw fileFailure("empty", "The table has no header row");

  const builder = new BlockBuilder();
  for (const row of rows) {
    const cells = row
      .map((value, i) => [columns[i] ?? `column ${i + 1}`, value.trim()] as const)
      .filter(([, value]) => value !== "")
      .map(([name, value]) => `${name}: ${value}`);
    if (cells.length) builder.text(cells.join(" | "));
  }
  return { blocks: builder.blocks(), rows: rows.length, columns };
}
