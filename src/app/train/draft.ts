/** The New run form's draft, kept in IndexedDB so a reload returns to what the user was setting up. */
import { type PresetName, trainConfig } from '../../schema/train.ts';
import type { ValidatorKind } from '../../validate/types.ts';
import { persisted } from '../app-state.ts';

export interface TrainDraft {
  preset: PresetName | null;
  /** The form's values: a full configuration (possibly invalid while being edited). */
  config: Record<string, unknown>;
  samples: number;
  validator: ValidatorKind | 'auto' | null;
  name: string;
}

/**
 * Which settings the New run form shows, remembered per browser: `basic` the few that mean the same on every model
 * (the preset, steps and epochs, learning rate, rank), `advanced` every field of the schema.
 */
export type FormMode = 'basic' | 'advanced';
export const trainFormMode = persisted<FormMode>('trainFormMode', 'basic');

/** The configuration paths the basic form shows, in order. */
export const BASIC_FIELDS: readonly (readonly string[])[] = [['steps'], ['epochs'], ['optim', 'lr'], ['lora', 'rank']];

export const trainDraft = persisted<TrainDraft>('trainDraft', {
  preset: null,
  config: trainConfig(null) as Record<string, unknown>,
  samples: 2,
  validator: 'auto',
  name: '',
});
