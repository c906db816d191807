#!/usr/bin/env bash
# A local single-node Apache Kafka broker (KRaft) for tests, demos and benchmarks, on 127.0.0.1.
#   scripts/kafka.sh start|stop|status|topics|lag GROUP|create TOPIC PARTITIONS|fetch
# The broker jars come from Maven Central (scripts/kafka/pom.xml, `mvn dependency:copy-dependencies`)
# and are cached under build/kafka/libs; it runs on the machine's Java (17+). Java and Maven are
# installed from Debian when missing.
# Env: SITEPULSE_KAFKA_PORT (default 9092), SITEPULSE_SERVICES_DIR (default build/services).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
port=${SITEPULSE_KAFKA_PORT:-9092}
controller_port=$((port + 2))
libs=$root/build/kafka/libs
dir=${SITEPULSE_SERVICES_DIR:-$root/build/services}/kafka
pidfile=$dir/pid
bootstrap=127.0.0.1:$port

need() {  # need COMMAND DEBIAN-PACKAGE
  command -v "$1" >/dev/null 2>&1 && return
  echo "kafka.sh: installing $2" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$2"
}

fetch() {
  if [ -f "$libs/.complete" ]; then return; fi
  need java openjdk-17-jre-headless
  need mvn maven
  echo "kafka.sh: fetching the Kafka broker jars with Maven (once)" >&2
  rm -rf "$libs"
  mvn -q -f scripts/kafka/pom.xml dependency:copy-dependencies -DoutputDirectory="$libs"
  touch "$libs/.complete"
}

java_opts=(-Xms128m -Xmx768m -Dlog4j2.configurationFile="$root/scripts/kafka/log4j2.yaml" -cp "$libs/*")

java_run() {  # java_run MAIN-CLASS ARGS...
  java "${java_opts[@]}" "$@"
}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

ready() { java_run org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" --list >/dev/null 2>&1; }

start() {
  fetch
  if running; then echo "kafka already running (pid $(cat "$pidfile"))"; return; fi
  # Another broker on the port would pass the readiness check for us, and the tests that stop
  # "our" broker would then test nothing: refuse instead.
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "kafka.sh: something else already listens on 127.0.0.1:$port (another checkout's" \
      "broker?); stop it or set SITEPULSE_KAFKA_PORT" >&2
    exit 1
  fi
  mkdir -p "$dir"
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
PROPS
  if [ ! -f "$dir/data/meta.properties" ]; then
    java_run kafka.tools.StorageTool format -t "$(java_run kafka.tools.StorageTool random-uuid)" \
      -c "$dir/server.properties" >"$dir/format.log" 2>&1 || { cat "$dir/format.log" >&2; exit 1; }
  fi
  # java itself in the background (not a shell function: $! must be the broker's own pid, or
  # stop would kill a subshell and leave the broker running).
  java "${java_opts[@]}" kafka.Kafka "$dir/server.properties" >"$dir/log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    if ! running; then break; fi
    if ready; then echo "kafka ready on $bootstrap (pid $(cat "$pidfile"))"; return; fi
    sleep 0.5
  done
  echo "kafka.sh: the broker did not become ready on $bootstrap; its log:" >&2
  tail -n 50 "$dir/log" >&2 || true
  stop
  exit 1
}

stop() {
  if running; then
    kill "$(cat "$pidfile")"
    for _ in $(seq 1 100); do running || break; sleep 0.2; done
    if running; then kill -9 "$(cat "$pidfile")"; fi
    echo "kafka stopped"
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) if running; then echo "running (pid $(cat "$pidfile"), $bootstrap)"; else echo "stopped"; exit 1; fi ;;
  topics) java_run org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" --describe ;;
  describe)
    [ -n "${2:-}" ] || { echo "usage: $0 describe TOPIC" >&2; exit 2; }
    java_run org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" --describe --topic "$2" ;;
  create)
    java_run org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" --create \
      --if-not-exists --topic "$2" --partitions "${3:-3}" --replication-factor 1 ;;
  delete)
    [ -n "${2:-}" ] || { echo "usage: $0 delete TOPIC" >&2; exit 2; }
    java_run org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" --delete --topic "$2" ;;
  lag)
    [ -n "${2:-}" ] || { echo "usage: $0 lag GROUP" >&2; exit 2; }
    java_run org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$bootstrap" \
      --describe --group "$2" ;;
  *) echo "usage: $0 start|stop|restart|status|topics|describe TOPIC|create TOPIC [PARTITIONS]|delete TOPIC|lag GROUP|fetch" >&2; exit 2 ;;
esac
