import { runEdge } from "./cluster";

void runEdge();
