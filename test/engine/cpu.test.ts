import { createCpuBackend } from "../../src/engine/cpu/backend.js";
import { runConformance } from "./conformance.js";

runConformance("cpu", () => createCpuBackend());
