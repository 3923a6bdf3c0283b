/**
 * @postern/proto — the postern.v1 contracts, generated from proto/postern/v1
 * by ./gen.sh (protoc + ts-proto). Only this file is written by hand.
 */
export { ReplyTo, ClientInfo } from "./gen/postern/v1/common";
export { DsnRet, Recipient, BodyRef, MailRecord } from "./gen/postern/v1/mail";
export {
  OcspWatchRequest,
  Staple,
  Ack,
  SpfVerdicts,
  DmarcVerdicts,
  EdgeCallbackService,
  EdgeCallbackClient,
  type EdgeCallbackServer,
} from "./gen/postern/v1/edge";
export {
  SpfResult,
  spfResultToJSON,
  SpfCheckRequest,
  SpfVerdict,
  SpfService,
  SpfClient,
  type SpfServer,
} from "./gen/postern/v1/spf";
export {
  DmarcStatus,
  dmarcStatusToJSON,
  DmarcCheckRequest,
  DmarcVerdict,
  DkimSignatureResult,
  DmarcService,
  DmarcClient,
  type DmarcServer,
} from "./gen/postern/v1/dmarc";
export {
  Event,
  RecordRequest,
  RecordResponse,
  RecordResult,
  SubscribeRequest,
  OutcomesService,
  OutcomesClient,
  type OutcomesServer,
  EventsService,
  EventsClient,
  type EventsServer,
} from "./gen/postern/v1/events";

