/** Scenarios: scripted fault injection from YAML, the engine that plays them, and fault requests over the bus. */
export { parseScenario, loadScenarioFile, checkScenario, scenarioClock, shippedScenarioFiles, parseOffset, SCENARIOS_DIR, ScenarioError, ScenarioFileSchema, type Scenario, type ScenarioStep, type ScenarioProblem } from './scenario.ts';
export { runScenario, type ScenarioTarget, type ScenarioRun, type ScenarioResult, type AppliedStep, type RunScenarioOptions } from './engine.ts';
export { sendSimCommand, remoteSimulators, SimCommandTimeout, type SimCommand } from './sim-command.ts';
