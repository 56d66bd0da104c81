// Choosing a candidate: its edits were answered for the document and the cursor as they were when the
// drawing was recognized. Where the cursor has moved since, the host asks again for edits that fit it now.
import { type CompletionItem, type CompletionList, MAX_LIMIT, type Stroke } from "../protocol";
import { findVariant } from "../variants";

/** What a host needs to place a chosen candidate. */
export interface ChoiceHost {
  /** Whether the answer's edits still apply where the cursor is now (mapped through the edits since). */
  stillFits(): boolean;
  /** Recognize `strokes` again with edits for the cursor as it is now. */
  recognizeHere(strokes: Stroke[], limit: number): Promise<CompletionList>;
}

/** Could not ask again for the chosen symbol's edits: the message is fit for the user. */
export class ChoiceError extends Error {
  override name = "ChoiceError";
}

/**
 * `item` when its edits still fit, else the same symbol (label or look-alike) answered again at the cursor
 * for the strokes the shown answer was for. Should the new answer lack it (it has the same strokes, so it
 * should not), the bare command without edits: inserted at the cursor, it is still what the user chose.
 */
export async function fitChoice(item: CompletionItem, strokes: Stroke[], host: ChoiceHost): Promise<CompletionItem> {
  if (host.stillFits()) return item;
  let fresh: CompletionList;
  try {
    fresh = await host.recognizeHere(strokes, MAX_LIMIT);
  } catch (error) {
    throw new ChoiceError(`Could not insert ${item.label}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const fitted = findVariant(fresh.items, item.data.symbolId);
  return fitted ?? { ...item, textEdit: undefined, additionalTextEdits: undefined };
}
