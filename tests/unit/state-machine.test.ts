import { describe, expect, it } from 'vitest';
import { allowedFrom, canMove, defineMachine, finalStates, refusal } from '../../shared/kernel/state-machine';

type Light = 'red' | 'green' | 'yellow' | 'off';
const light = defineMachine<Light>('light', { red: ['green', 'off'], green: ['yellow'], yellow: ['red'], off: [] });

describe('state machine', () => {
  it('lists its states and the edges out of each', () => {
    expect(light.name).toBe('light');
    expect(light.states).toEqual(['red', 'green', 'yellow', 'off']);
    expect(allowedFrom(light, 'red')).toEqual(['green', 'off']);
    expect(finalStates(light)).toEqual(['off']);
  });

  it('allows only its edges, and tells a repeat from a forbidden move', () => {
    expect(canMove(light, 'red', 'green')).toBe(true);
    expect(canMove(light, 'green', 'red')).toBe(false);
    expect(refusal(light, 'red', 'green')).toBeUndefined();
    expect(refusal(light, 'red', 'red')).toEqual({ code: 'ALREADY_IN_STATE', from: 'red', to: 'red' });
    expect(refusal(light, 'off', 'red')).toEqual({ code: 'FORBIDDEN_TRANSITION', from: 'off', to: 'red' });
  });
});
