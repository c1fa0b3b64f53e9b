#include "hello_server.h"

#include <atomic>
#include <mutex>
#include <thread>

#include <boost/asio.hpp>

namespace interlock::testing {

namespace net = boost::asio;
using tcp = net::ip::tcp;

struct HelloServer::Impl {
  explicit Impl(std::string g)
      : greeting(std::move(g)),
        acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {}
  void Serve() {
    for (;;) {
      tcp::socket s(io);
      boost::system::error_code ec;
      acceptor.accept(s, ec);
      if (ec || stop) return;
      ++connections;
      std::string head;
      char buf[4096];
      while (head.find("\r\n\r\n") == std::string::npos) {
        const size_t n = s.read_some(net::buffer(buf), ec);
        if (ec) break;
        head.append(buf, n);
      }
      {
        std::lock_guard lock(mu);
        last_head = head;
      }
      const std::string body = greeting + " " + std::to_string(acceptor.local_endpoint().port());
      const std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                               "\r\nConnection: close\r\n\r\n" + body;
      net::write(s, net::buffer(resp), ec);
      s.shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  const std::string greeting;
  net::io_context io;
  tcp::acceptor acceptor;
  std::thread thread;
  std::atomic<bool> stop{false};
  std::atomic<int> connections{0};
  mutable std::mutex mu;
  std::string last_head;
};

HelloServer::HelloServer(std::string greeting)
    : impl_(std::make_unique<Impl>(std::move(greeting))) {
  impl_->thread = std::thread([this] { impl_->Serve(); });
}

HelloServer::~HelloServer() {
  impl_->stop = true;
  boost::system::error_code ec;
  tcp::socket poke(impl_->io);
  poke.connect(impl_->acceptor.local_endpoint(), ec);  // wakes the blocking accept
  impl_->thread.join();
}

uint16_t HelloServer::port() const { return impl_->acceptor.local_endpoint().port(); }

int HelloServer::connections() const { return impl_->connections; }

std::string HelloServer::last_head() const {
  std::lock_guard lock(impl_->mu);
  return impl_->last_head;
}

}  // namespace interlock::testing
