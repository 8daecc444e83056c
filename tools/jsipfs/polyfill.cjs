'use strict'

// js-ipfs 0.66.1 depends on libraries that call Promise.withResolvers, which
// Node gained only in version 22; this gives Node 20 the same static method.
if (typeof Promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers () {
      let resolve
      let reject
      const promise = new this((onResolve, onReject) => {
        resolve = onResolve
        reject = onReject
      })
      return { promise, resolve, reject }
    }
  })
}
