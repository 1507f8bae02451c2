#!/usr/bin/env bash
# Builds fieldsync and runs the main job: fieldsyncd on its embedded SQLite
# store with a development certificate, plus two demo field devices: one
# records a screening form offline and syncs it, then both edit it offline
# so headquarters has a conflict to resolve on the review page.  Two
# agencies: Labour's reviewer refers the case to Human Services, whose
# reviewer sees that case only and accepts it; the inspector's device shows
# the referral's status.  Two months of inspections from the six districts
# fill the situation report and the map.  The daemon keeps running; the
# script says how to reach it and how to stop it.
#
# Usage: scripts/demo.sh            (from anywhere in a clone)
# Everything it makes lives in ./demo/ (delete it to start over).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

scripts/deps.sh build

echo "== building"
if [ ! -d build ]; then
	meson setup build >/dev/null
fi
ninja -C build >/dev/null

D=$root/build/daemon/fieldsyncd
F=$root/build/client/fieldsync
W=$root/demo
mkdir -p "$W"
cd "$W"

if [ -f fieldsyncd.pid ] && kill -0 "$(cat fieldsyncd.pid)" 2>/dev/null; then
	echo "== stopping the previous demo daemon"
	kill "$(cat fieldsyncd.pid)"
	sleep 1
fi

if [ ! -f cert.pem ]; then
	echo "== generating a development certificate (self-signed, 30 days)"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
		-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
		-keyout key.pem -out cert.pem 2>/dev/null
	chmod 600 key.pem
fi

if [ ! -f data/fieldsyncd.db ]; then
	echo "== publishing forms and enrolling demo devices"
	"$D" -d data form publish "$root/schema/forms/labor_inspection.json"
	"$D" -d data form publish "$root/schema/forms/border_screening.json"
	"$D" -d data device add --name demo-inspector --role field --team demo 2>/dev/null |
		sed -n 's/^token: //p' >device.token
	"$D" -d data device add --name demo-inspector-2 --role field --team demo 2>/dev/null |
		sed -n 's/^token: //p' >device2.token
	"$D" -d data device add --name demo-reviewer --role reviewer --team hq --all-teams 2>/dev/null |
		sed -n 's/^token: //p' >reviewer.token
	chmod 600 device.token device2.token reviewer.token
	echo "== headquarters' sealing key (its passphrase is in $W/hq-passphrase, for this demo only)"
	(umask 077 && head -c 18 /dev/urandom | base64 >hq-passphrase)
	"$D" -d data key create --passphrase-file hq-passphrase
fi
if [ ! -f hs-reviewer.token ]; then
	echo "== two agencies: Labour (the inspectors' team and headquarters) and Human Services"
	"$D" -d data agency add labour --title "Labour Department" --team demo --team hq
	"$D" -d data agency add hs --title "Department of Human Services" --team hs
	"$D" -d data device add --name demo-hs-reviewer --role reviewer --team hs 2>/dev/null |
		sed -n 's/^token: //p' >hs-reviewer.token
	chmod 600 hs-reviewer.token
	"$D" -d data agency list
fi

port=${FIELDSYNC_DEMO_PORT:-8443}
echo "== starting fieldsyncd on https://127.0.0.1:$port"
nohup "$D" -d data -l 127.0.0.1 -p "$port" --cert cert.pem --key key.pem \
	>>fieldsyncd.log 2>&1 &
echo $! >fieldsyncd.pid
for _ in $(seq 50); do
	curl -sf --cacert cert.pem "https://127.0.0.1:$port/v1/health" >/dev/null && break
	sleep 0.1
done
curl -sf --cacert cert.pem "https://127.0.0.1:$port/v1/health" >/dev/null ||
	{ echo "fieldsyncd did not start; see $W/fieldsyncd.log" >&2; exit 1; }

# The devices' stores are encrypted; the PIN is in a key file for the demo.
export FIELDSYNC_KEY_FILE="$W/device.pin"
sync_as() { # db token
	"$F" --db "$1" sync --server "https://127.0.0.1:$port" --token-file "$2" --cacert cert.pem "${@:3}"
}
if [ ! -f device.db ]; then
	(umask 077 && echo "demo-pin-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')" >device.pin)
	echo "== enrolling the devices: encrypted stores; a first sync brings forms and the sealing key"
	"$F" --db device.db init --device demo-inspector
	"$F" --db device2.db init --device demo-inspector-2
	sync_as device.db device.token -q
fi
echo "== recording a labour inspection offline (no network needed)"
echo "   (form version 3: questions that do not apply are not asked, the indicator"
echo "   count and risk level are calculated, each worker interviewed is a row)"
id=$("$F" --db device.db record new labor_inspection \
	--set worksite_name="Demo fish processing plant" --set district=stann_creek --set sector=fishing \
	--set inspection_date="$(date -u +%F)" --set location=16.9696,-88.2311 \
	--set number_of_workers=38 --set retention_of_documents=true --set documents_held_by=employer \
	--set withholding_of_wages=true --set months_unpaid=3 \
	--set referral_decision=refer_labour_authority --set referral_agency=labour_department \
	--set interviews/+1/worker_name="A. Demo Worker" --set interviews/+1/age=17 \
	--set interviews/+2/worker_name="B. Demo Worker" --set interviews/+2/age=34)
echo "saved record $id"
"$F" --db device.db status
echo "== syncing"
sync_as device.db device.token
"$F" --db device.db status
if grep -a -q -F "A. Demo Worker" data/fieldsyncd.db data/fieldsyncd.db-wal device.db 2>/dev/null; then
	echo "the interviewee's name is readable on the server or the device: this should not happen" >&2
else
	echo "the interviewee's name is on the server only sealed to headquarters' key, and the"
	echo "device's store is encrypted: neither file holds it readable"
fi

echo "== a second inspector's device receives the form and both edit it offline"
sync_as device2.db device2.token -q >/dev/null
"$F" --db device.db record edit "$id" --set number_of_workers=41
"$F" --db device2.db record edit "$id" --set number_of_workers=44 --set debt_bondage=true
sync_as device.db device.token -q
sync_as device2.db device2.token -q
sync_as device.db device.token -q
echo "the number of workers now has a conflict for headquarters to resolve:"
"$F" --db device.db record show "$id" | sed -n '/"conflicts"/,$p'

echo "== chain of custody: every change is signed; the server re-checks them all"
"$D" -d data verify
rm -rf "casefile-$id"
"$D" -d data casefile "$id" --out "casefile-$id"
echo "== the case file checked offline, as a prosecutor's office would"
"$F" verify-bundle "casefile-$id"

api() { # token-file method path [json]
	curl -sS --fail-with-body --cacert cert.pem -H "Authorization: Bearer $(cat "$1")" \
		-X "$2" ${4:+-H 'Content-Type: application/json' --data-binary "$4"} \
		"https://127.0.0.1:$port$3"
}
jget() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

echo "== Labour's reviewer refers the case to Human Services (the reason is sealed)"
ref=$(api reviewer.token POST "/v1/review/records/$id/refer" \
	'{"agency":"hs","reason":"A 17-year-old worker needs a safe place tonight","due":"'"$(date -u -d '+7 days' +%F)"'"}')
echo "$ref" | jget '"referral " + j["id"] + ", case " + j["case_number"] + ", " + j["status"] + ", due " + j["due"]'
echo "== Human Services sees only the records referred to it, and accepts"
api hs-reviewer.token GET "/v1/review/records?referred=us" | jget '"referred to us: " + str(j["total"]) + " record(s)"'
api hs-reviewer.token GET /v1/review/records | jget '"Human Services sees " + str(j["total"]) + " record(s) in all (the case and its referral)"'
api hs-reviewer.token POST "/v1/review/referrals/$(echo "$ref" | jget 'j["id"]')" \
	'{"status":"accepted","owner":"demo-hs-reviewer"}' | jget '"referral " + j["status"] + ", owner " + j["owner"]'
sync_as device.db device.token -q
echo "the inspector's device, after a sync, shows the referral's status (not its reason):"
"$F" --db device.db record show "$id" | sed -n '/"referrals"/,$p'

if [ ! -f report.done ]; then
	echo "== two months of inspections from the six districts, for the report and the map"
	districts=(corozal orange_walk belize cayo stann_creek toledo)
	lats=(18.39 17.95 17.40 17.15 16.90 16.25)
	lons=(-88.39 -88.75 -88.35 -88.95 -88.45 -88.85)
	sectors=(agriculture fishing construction domestic_work manufacturing hospitality)
	RANDOM=2026 # the same made-up inspections on every run
	n=60
	for k in $(seq 0 $((n - 1))); do
		d=$((k % 6))
		flags=()
		for ind in deception isolation retention_of_documents withholding_of_wages \
			debt_bondage excessive_overtime; do
			if [ $((RANDOM % 10)) -lt 4 ]; then
				flags+=(--set "$ind=true")
				case $ind in
				retention_of_documents) flags+=(--set documents_held_by=employer) ;;
				withholding_of_wages) flags+=(--set months_unpaid=$((1 + RANDOM % 6))) ;;
				debt_bondage) flags+=(--set debt_amount=$((200 + RANDOM % 3000))) ;;
				esac
			else
				flags+=(--set "$ind=false")
			fi
		done
		lat=$(awk -v a="${lats[$d]}" -v r=$((RANDOM % 200)) 'BEGIN { printf "%.4f", a - 0.1 + r / 1000 }')
		lon=$(awk -v a="${lons[$d]}" -v r=$((RANDOM % 200)) 'BEGIN { printf "%.4f", a - 0.1 + r / 1000 }')
		# The CLI says after each record which questions remain: kept in a log.
		"$F" --db device2.db record new labor_inspection --set worksite_name="Worksite $k" \
			--set district="${districts[$d]}" --set sector="${sectors[$((RANDOM % 6))]}" \
			--set inspection_date="$(date -u -d "-$((k % 59)) days" +%F)" \
			--set location="$lat,$lon" --set number_of_workers=$((5 + RANDOM % 40)) \
			"${flags[@]}" --set referral_decision=monitor >>generate.log 2>&1 ||
			{ tail -5 generate.log; exit 1; }
		[ $(((k + 1) % 20)) = 0 ] && echo "  $((k + 1)) of $n recorded"
	done
	sync_as device2.db device2.token -q
	touch report.done
fi
echo "== the situation report by district (counts under 5 shown as <5)"
"$D" -d data report --form labor_inspection --by district | awk -F, '
	NR == 1 { for (i = 1; i <= NF; i++) if ($i ~ /^(district|records|deception|isolation|retention_of_documents|withholding_of_wages|debt_bondage|risk_level=high)$/) keep[i] = 1 }
	/^fieldsyncd:/ { print; next }
	{ out = ""; for (i = 1; i <= NF; i++) if (i in keep) out = out (out == "" ? "" : ",") $i; print out }'

cat <<MSG

fieldsyncd is running (pid $(cat fieldsyncd.pid)) at https://127.0.0.1:$port
  review page: https://127.0.0.1:$port/  (the certificate is self-signed: accept it,
               or import $W/cert.pem), sign in with the reviewer token:
               $(cat reviewer.token)
               "Reveal sensitive values" asks the sealing key's passphrase:
               $(cat hq-passphrase 2>/dev/null || echo "(in $W/hq-passphrase)")
               Human Services' reviewer (sees the referred case only):
               $(cat hs-reviewer.token)
               Report and Map: the buttons at the top of the page
  health:    curl --cacert $W/cert.pem https://127.0.0.1:$port/v1/health
  forms:     curl --cacert $W/cert.pem -H "Authorization: Bearer \$(cat $W/device.token)" \\
                  https://127.0.0.1:$port/v1/forms
  device:    FIELDSYNC_KEY_FILE=$W/device.pin $F --db $W/device.db record list
  sync:      FIELDSYNC_KEY_FILE=$W/device.pin $F --db $W/device.db sync --server https://127.0.0.1:$port \\
                  --token-file $W/device.token --cacert $W/cert.pem
  reviewer token file: $W/reviewer.token
  case file: $W/casefile-$id  (check: $F verify-bundle $W/casefile-$id)
  log:       $W/fieldsyncd.log
  stop:      kill \$(cat $W/fieldsyncd.pid)
MSG
