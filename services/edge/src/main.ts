import { nativeObjectDigests } from "@postern/bus";
import { runEdge } from "./cluster";

// Bodies over spool_inline_max go to the spool; their digest runs on node:crypto (see nativeObjectDigests).
nativeObjectDigests();
void runEdge();
