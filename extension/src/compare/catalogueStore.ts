/**
 * The providers' model catalogues for this window: loaded on first use, again when keys or settings
 * change, shared by the compare panel's picker and the prompt-file checks.
 */
import * as vscode from 'vscode';
import { type Keys, readSettings } from '../config.ts';
import { type Catalogue, EMPTY_CATALOGUE } from '../shared/protocol.ts';
import { loadCatalogue } from './catalogue.ts';

export class CatalogueStore implements vscode.Disposable {
  #catalogue: Catalogue = EMPTY_CATALOGUE;
  #loading: Promise<Catalogue> | undefined;
  #generation = 0;
  readonly #changed = new vscode.EventEmitter<Catalogue>();
  readonly onDidChange = this.#changed.event;

  readonly keys: Keys;
  readonly log: vscode.LogOutputChannel;

  constructor(keys: Keys, log: vscode.LogOutputChannel) {
    this.keys = keys;
    this.log = log;
  }

  get current(): Catalogue {
    return this.#catalogue;
  }

  /** The catalogue, loading it the first time. */
  async get(): Promise<Catalogue> {
    if (this.#loading) return this.#loading;
    if (this.#catalogue.entries.length > 0) return this.#catalogue;
    return this.refresh();
  }

  /** Reads every provider's list again (a key or an endpoint changed, or the user asked). */
  refresh(): Promise<Catalogue> {
    const generation = ++this.#generation;
    this.#catalogue = { ...this.#catalogue, loading: true };
    this.#changed.fire(this.#catalogue);
    const loading = (async () => {
      const catalogue = await loadCatalogue(readSettings(), await this.keys.all()).catch(
        (error: unknown): Catalogue => ({
          entries: [],
          notes: [
            `the model catalogue could not be read: ${error instanceof Error ? error.message : String(error)}`,
          ],
          loading: false,
        }),
      );
      if (generation === this.#generation) {
        this.#catalogue = catalogue;
        this.#loading = undefined;
        for (const note of catalogue.notes) this.log.warn(`model catalogue: ${note}`);
        this.log.info(
          `model catalogue: ${catalogue.entries.length} models (${catalogue.entries.filter((e) => e.source === 'live').length} live)`,
        );
        this.#changed.fire(catalogue);
      }
      return catalogue;
    })();
    this.#loading = loading;
    return loading;
  }

  dispose(): void {
    this.#changed.dispose();
  }
}
