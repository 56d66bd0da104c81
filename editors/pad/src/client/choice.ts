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
  /**
   * Where the user can type or move while the server answers: taken as a request goes out, a check that the
   * document and the cursor are still as they were then. An answer that no longer fits is asked again.
   */
  snapshot?(): () => boolean;
}

// Requests for a chosen item's edits while the document or the cursor keeps changing, before giving up.
export const REFIT_ATTEMPTS = 3;

/** Could not ask again for the chosen symbol's edits: the message is fit for the user. */
export class ChoiceError extends Error {
  override name = "ChoiceError";
}

/** `item` without its edits: the bare command, inserted at the cursor wherever that is. */
export function bareCommand(item: CompletionItem): CompletionItem {
  return { ...item, textEdit: undefined, additionalTextEdits: undefined };
}

/**
 * `item` when its edits still fit, else the same symbol (label or look-alike) answered again at the cursor
 * for the strokes the shown answer was for. Should the new answer lack it (it has the same strokes, so it
 * should not), the bare command without edits: inserted at the cursor, it is still what the user chose.
 * With `host.snapshot`, asked again (up to REFIT_ATTEMPTS requests) until the answer still fits when it comes.
 */
export async function fitChoice(item: CompletionItem, strokes: Stroke[], host: ChoiceHost): Promise<CompletionItem> {
  if (host.stillFits()) return item;
  const fail = (reason: string) => new ChoiceError(`Could not insert ${item.label}: ${reason}`);
  for (let attempt = 0; attempt < REFIT_ATTEMPTS; attempt++) {
    const unchanged = host.snapshot?.();
    let fresh: CompletionList;
    try {
      fresh = await host.recognizeHere(strokes, MAX_LIMIT);
    } catch (error) {
      throw fail(error instanceof Error ? error.message : String(error));
    }
    if (!unchanged || unchanged()) {
      return findVariant(fresh.items, item.data.symbolId) ?? bareCommand(item);
    }
  }
  throw fail(`the document kept changing during ${REFIT_ATTEMPTS} requests`);
}
