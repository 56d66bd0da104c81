// "Not listed? Teach it": a form under the candidates that stores the drawing as a sample of a command the
// user types (`extexify/teach` through the host) and inserts that command. Validates like the server.
import { element } from "./dom";
import { commandProblem, packageProblem } from "./newSymbol";
import type { NewSymbol, SymbolMode } from "./protocol";

export interface TeachFormOptions {
  /** Teach the current drawing as `symbol` and insert it; rejects with a message for the user. */
  teach(symbol: NewSymbol): Promise<void>;
  /** KaTeX HTML of a command in a mode, or null where KaTeX cannot typeset it. */
  typeset(command: string, mode: SymbolMode): string | null;
}

export interface TeachForm {
  /** The form's root, a `<details>`: the pad leaves keys typed inside it alone. */
  readonly element: HTMLDetailsElement;
  /** Close the form and empty its fields. */
  reset(): void;
}

export function createTeachForm(options: TeachFormOptions): TeachForm {
  const root = element("details", "extexify-teach");
  const summary = element("summary", "extexify-teach__summary", "Not listed? Teach it");
  const form = element("form", "extexify-teach__form");
  form.noValidate = true;

  const command = input("command", "\\mycirc", "The LaTeX command this drawing stands for");
  const pkg = input("package", "package (optional)", "The package that defines it, if any (e.g. stmaryrd)");
  const mode = element("select", "extexify-teach__mode");
  mode.name = "mode";
  mode.title = "Where the command is used";
  for (const value of ["math", "text", "both"] as const) {
    const option = element("option", "", value === "both" ? "math or text" : `${value} mode`);
    option.value = value;
    mode.append(option);
  }
  const preview = element("span", "extexify-teach__preview");
  preview.setAttribute("aria-live", "polite");
  const message = element("p", "extexify-teach__message");
  message.setAttribute("aria-live", "polite");
  const submit = element("button", "extexify-pad__button extexify-teach__submit", "Teach and insert");
  submit.type = "submit";
  submit.title = "Store the drawing as this command (in your own sample store) and insert it";

  const fields = element("div", "extexify-teach__fields");
  fields.append(command, pkg, mode, submit);
  form.append(fields, preview, message);
  root.append(summary, form);

  let busy = false;

  function showMessage(text: string, error: boolean): void {
    message.textContent = text;
    message.classList.toggle("extexify-teach__message--error", error);
  }

  /** The symbol the fields describe, or null after showing what is wrong. */
  function validate(): NewSymbol | null {
    const text = command.value.trim();
    const commandError = commandProblem(text);
    const packageError = packageProblem(pkg.value.trim());
    command.setAttribute("aria-invalid", String(commandError !== null && text !== ""));
    pkg.setAttribute("aria-invalid", String(packageError !== null));
    const typeset = commandError === null ? options.typeset(text, mode.value as SymbolMode) : null;
    if (typeset !== null) preview.innerHTML = typeset;
    else preview.replaceChildren();
    const problem = commandError ?? packageError;
    if (problem !== null) {
      showMessage(text === "" ? "" : problem, text !== "");
      submit.disabled = true;
      return null;
    }
    showMessage(typeset === null ? `KaTeX cannot show ${text}: it is taught and inserted all the same` : "", false);
    submit.disabled = busy;
    const symbol: NewSymbol = { command: text, mode: mode.value as SymbolMode };
    if (pkg.value.trim() !== "") symbol.package = pkg.value.trim();
    return symbol;
  }

  for (const field of [command, pkg, mode]) field.addEventListener("input", () => validate());
  root.addEventListener("toggle", () => {
    if (root.open) command.focus();
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const symbol = validate();
    if (symbol === null || busy) return;
    busy = true;
    submit.disabled = true;
    showMessage(`Teaching ${symbol.command}…`, false);
    options.teach(symbol).then(
      () => {
        busy = false;
        reset();
      },
      (error: unknown) => {
        busy = false;
        submit.disabled = false;
        showMessage(`Could not teach ${symbol.command}: ${error instanceof Error ? error.message : String(error)}`, true);
      },
    );
  });

  function reset(): void {
    form.reset();
    root.open = false;
    validate();
    showMessage("", false);
  }

  validate();
  return { element: root, reset };
}

function input(name: string, placeholder: string, title: string): HTMLInputElement {
  const node = element("input", `extexify-teach__${name}`);
  node.name = name;
  node.placeholder = placeholder;
  node.title = title;
  node.setAttribute("aria-label", title);
  node.autocomplete = "off";
  node.spellcheck = false;
  return node;
}
