/**
 * effect-actors: an Effect-native actor framework.
 *
 * @since 0.1.0
 */
export * as Actor from "./Actor.js"
export * as ActorSystem from "./ActorSystem.js"
export * as Address from "./Address.js"
export * as Cron from "./Cron.js"
export * as Errors from "./Errors.js"
export * as EventStream from "./EventStream.js"
export * as Mailbox from "./Mailbox.js"
export * as Message from "./Message.js"
export * as Metrics from "./Metrics.js"
export * as Pid from "./Pid.js"
export * as RemoteClient from "./Remoting/RemoteClient.js"
export * as Remoting from "./Remoting/Remoting.js"
export * as Transport from "./Remoting/Transport.js"
export * as Router from "./Router.js"
export * as Scheduler from "./Scheduler.js"
export * as Supervisor from "./Supervisor.js"
export * as TestKit from "./TestKit.js"
export * as ClusterError from "./Cluster/ClusterError.js"
export * as ClusterStore from "./Cluster/ClusterStore.js"
export * as Discovery from "./Cluster/Discovery.js"
export * as Membership from "./Cluster/Membership.js"
export * as Cluster from "./Cluster/Cluster.js"
export * as Singleton from "./Cluster/Singleton.js"
export * as Dashboard from "./Dashboard/Dashboard.js"
