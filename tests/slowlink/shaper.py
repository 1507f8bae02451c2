"""shaper.py -- a TCP proxy that behaves like a bad field link.

Listens on 127.0.0.1 and forwards to a loopback target, with:
  - a bandwidth per direction (bytes per second), paced per connection;
  - a one-way delay (half the round trip) on every byte;
  - periodic cuts: every `cut_every` seconds every open connection is
    reset (RST, as a radio link that drops does to TCP), and for `outage`
    seconds new connections are reset at once too.
It counts the bytes it forwards each way, which is what a metered link
bills.  Runs its asyncio loop in a thread; stop() ends it.  Loopback
only, bounded by its owner's lifetime.
"""

import asyncio
import socket
import struct
import threading
import time


class Shaper:
    def __init__(self, target_port, bytes_per_s, one_way_delay=0.5, cut_every=0.0, outage=3.0,
                 chunk=512):
        self.target_port = target_port
        self.rate = float(bytes_per_s)
        self.delay = float(one_way_delay)
        self.cut_every = float(cut_every)
        self.outage = float(outage)
        self.chunk = chunk
        self.bytes_up = 0      # client -> server
        self.bytes_down = 0    # server -> client
        self.connections = 0
        self.cuts = 0          # connections reset by a cut
        self.refused = 0       # connections reset during an outage
        self.port = None
        self._conns = set()
        self._down_until = 0.0
        self._loop = None
        self._server = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    # --- lifetime ---------------------------------------------------------

    def _main(self):
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)

        async def start():
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]
            if self.cut_every > 0:
                asyncio.ensure_future(self._cutter())
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    def stop(self):
        async def shut():
            self._server.close()
            for w in list(self._conns):
                self._rst(w)
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(shut(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    # --- faults -------------------------------------------------------------

    @staticmethod
    def _rst(writer):
        try:
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        except (OSError, RuntimeError):
            pass

    async def _cutter(self):
        t0 = time.monotonic()
        k = 1
        while True:
            await asyncio.sleep(max(0.0, t0 + k * self.cut_every - time.monotonic()))
            k += 1
            self._down_until = time.monotonic() + self.outage
            for w in list(self._conns):
                self.cuts += 1
                self._rst(w)
            self._conns.clear()

    # --- forwarding -----------------------------------------------------------

    async def _pump(self, reader, writer, up, pair):
        """Paces bytes at self.rate and delivers each after self.delay."""
        queue = asyncio.Queue()
        free_at = time.monotonic()

        async def deliver():
            while True:
                item = await queue.get()
                if item is None:
                    break
                at, data = item
                wait = at - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if writer.is_closing():
                    break
                writer.write(data)
                try:
                    await writer.drain()
                except (ConnectionError, OSError):
                    break
                if up:
                    self.bytes_up += len(data)
                else:
                    self.bytes_down += len(data)
            # The other side finished: pass the half-close on.
            if item is None and not writer.is_closing() and writer.can_write_eof():
                try:
                    writer.write_eof()
                except (OSError, RuntimeError):
                    pass

        task = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(self.chunk)
                if not data:
                    break
                now = time.monotonic()
                start = max(now, free_at)
                free_at = start + len(data) / self.rate
                await queue.put((free_at + self.delay, data))
                # Back pressure: the sender waits for the link, as on a real one.
                if free_at - now > 0.05:
                    await asyncio.sleep(free_at - now - 0.05)
        except (ConnectionError, OSError):
            pass
        await queue.put(None)
        try:
            await task
        except (ConnectionError, OSError):
            pass

    async def _handle(self, creader, cwriter):
        self.connections += 1
        if time.monotonic() < self._down_until:
            self.refused += 1
            self._rst(cwriter)
            return
        try:
            sreader, swriter = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            self._rst(cwriter)
            return
        self._conns.add(cwriter)
        self._conns.add(swriter)
        try:
            await asyncio.gather(self._pump(creader, swriter, True, cwriter),
                                 self._pump(sreader, cwriter, False, swriter))
        except (ConnectionError, OSError, asyncio.CancelledError):
            # Cancelled by stop(): ending quietly keeps asyncio from logging it.
            pass
        finally:
            for w in (cwriter, swriter):
                self._conns.discard(w)
                if not w.is_closing():
                    w.close()
