import type { FeedbackSignal } from '../../src/contracts/feedback';
import { basicRule, decide } from '../../src/poet/train';

const signal = (over: Partial<FeedbackSignal>): FeedbackSignal => ({
  feedback_type: 'user',
  rating: null,
  comments: null,
  metrics: null,
  suggestions: [],
  ...over,
});
const reference = { retries: 3, timeout_s: 30 };

describe('the reference POET basic rule', () => {
  test('a failure adds one retry, at most 5', () => {
    expect(basicRule(reference, true, undefined)).toEqual({ retries: 4, timeout_s: 30 });
    expect(basicRule({ retries: 5, timeout_s: 30 }, true, undefined)).toEqual({ retries: 5, timeout_s: 30 });
  });
  test('a run over 0.8 × timeout raises it × 1.2 (at most 120 s); under 0.3 × lowers it × 0.9 (at least 5 s)', () => {
    expect(basicRule(reference, false, 25)).toEqual({ retries: 3, timeout_s: 36 });
    expect(basicRule({ retries: 3, timeout_s: 110 }, false, 100)).toEqual({ retries: 3, timeout_s: 120 });
    expect(basicRule(reference, false, 1)).toEqual({ retries: 3, timeout_s: 27 });
    expect(basicRule({ retries: 3, timeout_s: 5.2 }, false, 0.1)).toEqual({ retries: 3, timeout_s: 5 });
    expect(basicRule(reference, false, 15)).toEqual(reference);
  });
});

describe('decision rules', () => {
  test('good feedback is accepted and changes nothing', () => {
    const d = decide(
      [signal({ rating: 5, metrics: { success_rate: 0.99, error_rate: 0.01, avg_duration: 15 } })],
      reference,
    );
    expect(d).toMatchObject({ requiresUpdate: false, reasons: [], operate: reference, perceive: {}, suggestions: [] });
  });

  test.each([
    ['error feedback', [signal({ feedback_type: 'error', comments: 'it broke' })], /error report/],
    ['a low mean rating', [signal({ rating: 1 }), signal({ rating: 3 })], /mean rating 2/],
    ['a high error_rate', [signal({ metrics: { error_rate: 0.3 } })], /error_rate 0.3/],
    ['a low success_rate', [signal({ metrics: { success_rate: 0.5 } })], /success_rate 0.5/],
    ['suggestions', [signal({ rating: 5, suggestions: ['cache results'] })], /1 suggestion/],
  ])('%s requires an update', (_name, signals, reason) => {
    const d = decide(signals, reference);
    expect(d.requiresUpdate).toBe(true);
    expect(d.reasons.join('; ')).toMatch(reason);
  });

  test('timeouts learn more retries and a longer timeout', () => {
    const d = decide(
      [signal({ feedback_type: 'error', comments: 'TimeoutError: call timed out after 30s' })],
      reference,
    );
    // basic rule: +1 retry for the failure; timeout words: +1 retry and × 1.2
    expect(d.operate).toEqual({ retries: 5, timeout_s: 36 });
    expect(d.perceive).toEqual({});
  });

  test('bad inputs learn strict input checks', () => {
    const d = decide(
      [signal({ feedback_type: 'error', comments: "TypeError: unsupported operand type(s) for +: 'NoneType'" })],
      reference,
    );
    expect(d.perceive).toEqual({ check_types: true, reject_none: true, reject_non_finite: true });
    expect(d.reasons).toContain('errors come from bad inputs: strict input checks');
  });

  test('suggestions are deduplicated into the guidance', () => {
    const d = decide([signal({ suggestions: ['a', 'b'] }), signal({ suggestions: ['b', 'c'] })], reference);
    expect(d.suggestions).toEqual(['a', 'b', 'c']);
  });
});
