// The extexify-lsp process behind a `vscode-languageclient` client: start, restart on settings change, stop.
import * as vscode from "vscode";
import { LanguageClient, State } from "vscode-languageclient/node";

import { findExecutable, INSTALL_COMMAND } from "./serverCommand";

/** The running client, or why there is none (shown on the pad). */
export type ServerState = { client: LanguageClient } | { client: undefined; problem: string };

interface ServerSettings {
  command: string;
  args: string[];
}

/** The `extexify.server.*` settings; a malformed value is reported and replaced by the default. */
function readSettings(): ServerSettings {
  const config = vscode.workspace.getConfiguration("extexify.server");
  const command = config.get<unknown>("command");
  const args = config.get<unknown>("args");
  const settings: ServerSettings = { command: "extexify-lsp", args: [] };
  if (typeof command === "string" && command.trim() !== "") {
    settings.command = command.trim();
  } else {
    void vscode.window.showWarningMessage("extexify.server.command must be a non-empty string; using extexify-lsp.");
  }
  if (Array.isArray(args) && args.every((arg) => typeof arg === "string")) {
    settings.args = args;
  } else {
    void vscode.window.showWarningMessage("extexify.server.args must be a list of strings; starting without them.");
  }
  return settings;
}

async function offerInstallHelp(command: string): Promise<void> {
  const copy = "Copy Install Command";
  const settings = "Open Settings";
  const choice = await vscode.window.showErrorMessage(
    `extexify: the language server "${command}" was not found. Install it with \`${INSTALL_COMMAND}\` in a ` +
      "checkout of extexify (or pip install a wheel made by `make dist`), then set extexify.server.command " +
      "to its full path, e.g. the checkout's .venv/bin/extexify-lsp.",
    copy,
    settings,
  );
  if (choice === copy) {
    await vscode.env.clipboard.writeText(INSTALL_COMMAND);
  } else if (choice === settings) {
    await vscode.commands.executeCommand("workbench.action.openSettings", "extexify.server");
  }
}

export class Server implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private problem = "extexify-lsp is not running";
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when the server starts, stops or fails. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly output: vscode.LogOutputChannel) {}

  get state(): ServerState {
    return this.client?.isRunning() ? { client: this.client } : { client: undefined, problem: this.problem };
  }

  async start(): Promise<void> {
    const { command, args } = readSettings();
    const executable = findExecutable(command);
    if (executable === undefined) {
      this.fail(`extexify-lsp was not found ("${command}"): install it with ${INSTALL_COMMAND} in extexify's checkout`);
      void offerInstallHelp(command);
      return;
    }
    this.problem = "extexify-lsp is starting";
    this.output.info(`starting ${executable} ${args.join(" ")}`);
    const client = new LanguageClient(
      "extexify",
      "extexify",
      // No `transport`: stdio is extexify-lsp's default, so the command runs exactly as the user configured it
      // (TransportKind.stdio would append `--stdio`).
      { command: executable, args },
      {
        documentSelector: [{ language: "latex" }, { language: "tex" }],
        outputChannel: this.output,
        // start() rejects too and the client notifies about that: one notification is enough.
        initializationFailedHandler: () => false,
      },
    );
    client.onDidChangeState(({ newState }) => {
      if (newState === State.Stopped) {
        this.problem = "extexify-lsp stopped (details in the extexify output)";
      }
      this.changed.fire();
    });
    this.client = client;
    try {
      await client.start();
    } catch (error) {
      this.client = undefined;
      // The client has already notified the user, with a button to the output where the server's stderr is.
      this.fail("extexify-lsp failed to start (details in the extexify output)");
      this.output.error(String(error));
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.problem = "extexify-lsp is not running";
    if (client?.isRunning()) {
      await client.stop();
    }
    this.changed.fire();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Releases the event emitter; `deactivate` stops the server itself, since stopping is asynchronous. */
  dispose(): void {
    this.changed.dispose();
  }

  private fail(problem: string): void {
    this.problem = problem;
    this.output.error(problem);
    this.changed.fire();
  }
}
